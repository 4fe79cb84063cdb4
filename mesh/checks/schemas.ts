/**
 * Schema validation of rendered manifests, offline: core Kubernetes objects against kubernetes-models,
 * Gateway API routes against @kubernetes-models/gateway-api (v1), and Linkerd's resources (plus the Gateway
 * API routes Linkerd bundles) against the CRD schemas in ../shared/schemas/linkerd-crds.
 *
 * CRD schemas are checked the way the API server's strict field validation would: an unknown field is an
 * error wherever the schema does not preserve unknown fields. kubernetes-models' own validators let unknown
 * fields through; cross-checks.ts checks the fields that matter (probes, resources, security context) itself.
 * CEL rules (x-kubernetes-validations) are not evaluated.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { GRPCRoute } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/GRPCRoute";
import { HTTPRoute } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute";
import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { type KubeObject, readManifest } from "./kustomize.js";
import { sharedSchemasDir } from "./repo-paths.js";

/** Where the Linkerd CRD schemas are (absent outside this workspace). */
export const linkerdCrdsDir = join(sharedSchemasDir, "linkerd-crds");

function modelValidator<Data>(Model: new (data: Data) => { validate(): void }) {
  return (object: KubeObject) => new Model(object as unknown as Data).validate();
}

/** The kinds kubernetes-models knows, by `apiVersion/kind`. Add a kind here before using it in mesh/. */
const modelValidators = new Map<string, (object: KubeObject) => void>([
  ["v1/Namespace", modelValidator(Namespace)],
  ["v1/ServiceAccount", modelValidator(ServiceAccount)],
  ["v1/ConfigMap", modelValidator(ConfigMap)],
  ["v1/Secret", modelValidator(Secret)],
  ["v1/Service", modelValidator(Service)],
  ["apps/v1/Deployment", modelValidator(Deployment)],
  ["apps/v1/StatefulSet", modelValidator(StatefulSet)],
  ["autoscaling/v2/HorizontalPodAutoscaler", modelValidator(HorizontalPodAutoscaler)],
  ["rbac.authorization.k8s.io/v1/Role", modelValidator(Role)],
  ["rbac.authorization.k8s.io/v1/RoleBinding", modelValidator(RoleBinding)],
  ["gateway.networking.k8s.io/v1/GRPCRoute", modelValidator(GRPCRoute)],
  ["gateway.networking.k8s.io/v1/HTTPRoute", modelValidator(HTTPRoute)],
]);

const typeKey = (object: KubeObject) => `${object.apiVersion}/${object.kind}`;

/** Problems kubernetes-models finds in `object`; undefined when it has no model for the kind. */
export function validateWithModels(object: KubeObject): string[] | undefined {
  const validate = modelValidators.get(typeKey(object));
  if (!validate) return undefined;
  try {
    validate(object);
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}

/**
 * The schema of every served version of every CRD in a directory, by `apiVersion/kind`, each compiled into
 * a validator the first time it is needed (the Gateway API route schemas are large).
 */
export class CrdValidators {
  private readonly schemas = new Map<string, JsonSchema>();
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly ajv = new Ajv({ strict: false, allErrors: true });

  constructor(dir: string) {
    addFormats.default(this.ajv, ["date-time"]);
    this.ajv.addFormat("int32", {
      type: "number",
      validate: (n) => Number.isInteger(n) && Math.abs(n) < 2 ** 31,
    });
    this.ajv.addFormat("int64", { type: "number", validate: (n) => Number.isInteger(n) });
    this.ajv.addFormat("float", { type: "number", validate: () => true });
    this.ajv.addFormat("duration", /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
    this.ajv.addKeyword({
      keyword: "x-kubernetes-int-or-string",
      schemaType: "boolean",
      validate: (enabled: boolean, data: unknown) =>
        !enabled || Number.isInteger(data) || typeof data === "string",
    });
    for (const file of readdirSync(dir).filter((name) => name.endsWith(".yaml"))) {
      for (const object of readManifest(join(dir, file))) {
        if (object.kind !== "CustomResourceDefinition") continue;
        const crd = object as CustomResourceDefinition;
        for (const version of crd.spec.versions.filter((candidate) => candidate.served)) {
          this.schemas.set(
            `${crd.spec.group}/${version.name}/${crd.spec.names.kind}`,
            version.schema.openAPIV3Schema,
          );
        }
      }
    }
  }

  /** The validator of `apiVersion/kind`, or undefined when no CRD here defines it. */
  validator(key: string): ValidateFunction | undefined {
    const cached = this.compiled.get(key);
    if (cached) return cached;
    const source = this.schemas.get(key);
    if (!source) return undefined;
    const schema = structuredClone(source);
    rejectUnknownFields(schema);
    // The API server accepts these on every object, whether or not the CRD's schema lists them.
    schema.properties = {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: { type: "object" },
      ...schema.properties,
    };
    const validate = this.ajv.compile(schema);
    this.compiled.set(key, validate);
    return validate;
  }
}

/** The Linkerd CRD validators, or undefined where ../shared is absent (outside this workspace). */
export function loadLinkerdCrdValidators(): CrdValidators | undefined {
  return existsSync(linkerdCrdsDir) ? new CrdValidators(linkerdCrdsDir) : undefined;
}

/** Problems a CRD schema finds in `object`; undefined when no CRD defines the kind. */
export function validateWithCrds(object: KubeObject, validators: CrdValidators): string[] | undefined {
  const validate = validators.validator(typeKey(object));
  if (!validate) return undefined;
  if (validate(object)) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath || "/"} ${error.message}`);
}

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: unknown;
  items?: JsonSchema;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  [keyword: string]: unknown;
}

interface CustomResourceDefinition extends KubeObject {
  spec: {
    group: string;
    names: { kind: string };
    versions: Array<{ name: string; served: boolean; schema: { openAPIV3Schema: JsonSchema } }>;
  };
}

/** Structural schemas prune unknown fields, which strict field validation reports: make them errors. */
function rejectUnknownFields(schema: JsonSchema): void {
  if (
    schema.properties &&
    schema.additionalProperties === undefined &&
    !schema["x-kubernetes-preserve-unknown-fields"]
  ) {
    schema.additionalProperties = false;
  }
  for (const child of Object.values(schema.properties ?? {})) rejectUnknownFields(child);
  if (schema.items) rejectUnknownFields(schema.items);
  for (const keyword of ["oneOf", "anyOf", "allOf"]) {
    for (const branch of (schema[keyword] as JsonSchema[] | undefined) ?? []) rejectUnknownFields(branch);
  }
  if (schema.additionalProperties && typeof schema.additionalProperties === "object") {
    rejectUnknownFields(schema.additionalProperties as JsonSchema);
  }
}
