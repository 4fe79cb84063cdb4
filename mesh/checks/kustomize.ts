/**
 * Renders a kustomization offline, as `kubectl kustomize` would, for the subset of kustomize that mesh/
 * uses: `resources` (YAML files and directories holding a kustomization), `patches` given inline as
 * JSON 6902 operations, aimed by group, version, kind, exact name and equality label selectors, and
 * `configMapGenerator` entries made of whole files (a key per file, named after it), whose ConfigMaps get
 * kustomize's content-hash suffix and whose name every pod template of the rendering then refers to.
 *
 * No kustomize or kubectl binary can be installed from npm or Debian's packages (Debian's kubectl is 1.20,
 * with kustomize 2), so the tests render overlays with this. Anything outside the subset throws instead of
 * rendering something kustomize would not: a kustomization cannot silently use a feature this gets wrong.
 * Where a kubectl is on PATH, kustomize.spec.ts checks that both render every overlay identically.
 * Unlike kustomize, a patch whose target matches nothing is an error (it is always a mistake here).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseAllDocuments, parse as parseYaml } from "yaml";

/** A Kubernetes object as written in a manifest. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

interface PatchTarget {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  labelSelector?: string;
}

interface JsonPatchOperation {
  op: "add" | "remove" | "replace";
  path: string;
  value?: unknown;
}

interface ConfigMapGeneratorEntry {
  name: string;
  namespace?: string;
  files: string[];
}

const supportedFields = new Set(["apiVersion", "kind", "resources", "patches", "configMapGenerator"]);
const supportedGeneratorFields = new Set(["name", "namespace", "files"]);
const supportedTargetFields = new Set(["group", "version", "kind", "name", "labelSelector"]);
const supportedOperations = new Set(["add", "remove", "replace"]);

/** How messages name an object: its kind and name. */
export const nameOf = (object: KubeObject) => `${object.kind} ${object.metadata.name}`;

/** The object's identity in a rendering: no two resources may share it. */
export function objectId(object: KubeObject): string {
  return `${object.apiVersion}/${object.kind}/${object.metadata.namespace ?? ""}/${object.metadata.name}`;
}

/** Renders the kustomization in `dir` (a directory holding kustomization.yaml). */
export function renderKustomization(dir: string): KubeObject[] {
  return render(dir).objects;
}

/** The objects of a kustomization and the names its generators gave (namespace/name → name-hash). */
function render(dir: string): { objects: KubeObject[]; generated: Map<string, string> } {
  const file = join(dir, "kustomization.yaml");
  if (!existsSync(file)) throw new Error(`${dir}: no kustomization.yaml`);
  const kustomization = parseYaml(readFileSync(file, "utf8")) as Record<string, unknown>;
  for (const field of Object.keys(kustomization)) {
    if (!supportedFields.has(field)) throw new Error(`${file}: "${field}" is not supported by this renderer`);
  }
  if ((kustomization.kind ?? "Kustomization") !== "Kustomization")
    throw new Error(`${file}: not a Kustomization`);

  const objects: KubeObject[] = [];
  const generated = new Map<string, string>();
  const seen = new Set<string>();
  const add = (loaded: KubeObject[]) => {
    for (const object of loaded) {
      const id = objectId(object);
      if (seen.has(id)) throw new Error(`${file}: ${id} is defined twice`);
      seen.add(id);
      objects.push(object);
    }
  };
  for (const entry of (kustomization.resources ?? []) as string[]) {
    const path = resolve(dir, entry);
    if (statSync(path).isDirectory()) {
      const child = render(path);
      for (const [original, name] of child.generated) generated.set(original, name);
      add(child.objects);
    } else add(readManifest(path));
  }
  for (const [index, entry] of (
    (kustomization.configMapGenerator ?? []) as ConfigMapGeneratorEntry[]
  ).entries()) {
    const configMap = generateConfigMap(dir, entry, `${file}: configMapGenerator[${index}]`);
    generated.set(`${configMap.metadata.namespace ?? ""}/${entry.name}`, configMap.metadata.name);
    add([configMap]);
  }
  renameConfigMapReferences(objects, generated);

  for (const [index, patch] of ((kustomization.patches ?? []) as Record<string, unknown>[]).entries()) {
    const where = `${file}: patches[${index}]`;
    for (const field of Object.keys(patch)) {
      if (field !== "target" && field !== "patch") throw new Error(`${where}: "${field}" is not supported`);
    }
    const target = patch.target as PatchTarget | undefined;
    if (!target || typeof patch.patch !== "string")
      throw new Error(`${where}: needs a target and an inline patch`);
    const operations = parseYaml(patch.patch) as unknown;
    if (!Array.isArray(operations))
      throw new Error(`${where}: only JSON 6902 patches (a list of operations)`);
    const matched = objects.filter((object) => matchesTarget(object, target, where));
    if (matched.length === 0) throw new Error(`${where}: the target matches no resource`);
    for (const object of matched) {
      for (const operation of operations as JsonPatchOperation[]) applyOperation(object, operation, where);
    }
  }
  return { objects, generated };
}

/**
 * A ConfigMap holding each file (a path below `dir`, as kustomize's default load restrictor demands) under
 * its base name, named `<name>-<hash of its content>` as kustomize names it, so that a changed file is a
 * new ConfigMap and the pods that mount it roll.
 */
function generateConfigMap(dir: string, entry: ConfigMapGeneratorEntry, where: string): KubeObject {
  for (const field of Object.keys(entry)) {
    if (!supportedGeneratorFields.has(field)) throw new Error(`${where}: "${field}" is not supported`);
  }
  if (!entry.name || !Array.isArray(entry.files) || entry.files.length === 0)
    throw new Error(`${where}: needs a name and files`);
  const data: Record<string, string> = {};
  for (const entryFile of entry.files) {
    if (entryFile.includes("="))
      throw new Error(`${where}: "${entryFile}": only files named by their path are supported`);
    const path = resolve(dir, entryFile);
    if (!path.startsWith(`${resolve(dir)}/`))
      throw new Error(`${where}: ${entryFile} is not in or below ${dir}, which kustomize refuses`);
    const key = basename(path);
    if (key in data) throw new Error(`${where}: two files are named ${key}`);
    data[key] = readFileSync(path, "utf8");
  }
  const metadata = {
    name: `${entry.name}-${configMapHash(data)}`,
    ...(entry.namespace ? { namespace: entry.namespace } : {}),
  };
  return { apiVersion: "v1", kind: "ConfigMap", metadata, data };
}

/**
 * kustomize's name suffix for a generated ConfigMap: sha256 of the JSON of {data, kind, name} with sorted
 * keys, as Go's encoding/json writes it (escaping <, > and & for HTML), its first ten hex digits with
 * 0, 1, 3, a and e replaced by g, h, k, m and t. kustomize v5 hashes the ConfigMap before it names it: the
 * name is empty (checked against kubectl's kustomize where one is on PATH).
 */
export function configMapHash(data: Record<string, string>): string {
  const sorted = Object.fromEntries(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const json = JSON.stringify({ data: sorted, kind: "ConfigMap", name: "" }).replace(
    /[<>&\u2028\u2029]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  const hex = createHash("sha256").update(json).digest("hex").slice(0, 10);
  const replacements: Record<string, string> = { "0": "g", "1": "h", "3": "k", a: "m", e: "t" };
  return hex.replace(/[013ae]/g, (digit) => replacements[digit] as string);
}

/** Points every pod template's ConfigMap references (volumes, envFrom, env) at the generated names. */
function renameConfigMapReferences(objects: KubeObject[], generated: Map<string, string>): void {
  if (generated.size === 0) return;
  for (const object of objects) {
    const podSpec = (object.spec as { template?: { spec?: GeneratedReferences } } | undefined)?.template
      ?.spec;
    if (!podSpec) continue;
    const rename = (holder: { name: string } | undefined) => {
      const name = holder && generated.get(`${object.metadata.namespace ?? ""}/${holder.name}`);
      if (holder && name) holder.name = name;
    };
    for (const volume of podSpec.volumes ?? []) {
      rename(volume.configMap);
      for (const source of volume.projected?.sources ?? []) rename(source.configMap);
    }
    for (const container of [...(podSpec.containers ?? []), ...(podSpec.initContainers ?? [])]) {
      for (const source of container.envFrom ?? []) rename(source.configMapRef);
      for (const variable of container.env ?? []) rename(variable.valueFrom?.configMapKeyRef);
    }
  }
}

interface GeneratedReferences {
  volumes?: Array<{
    configMap?: { name: string };
    projected?: { sources?: Array<{ configMap?: { name: string } }> };
  }>;
  containers?: ContainerReferences[];
  initContainers?: ContainerReferences[];
}

interface ContainerReferences {
  envFrom?: Array<{ configMapRef?: { name: string } }>;
  env?: Array<{ valueFrom?: { configMapKeyRef?: { name: string } } }>;
}

/** Every document of a YAML stream read from `source` (empty documents are skipped, as kustomize does). */
export function parseManifests(yaml: string, source: string): KubeObject[] {
  return parseAllDocuments(yaml).flatMap((document) => {
    if (document.errors.length > 0) throw new Error(`${source}: ${document.errors[0]?.message}`);
    const object = document.toJS() as KubeObject | null;
    return object === null ? [] : [object];
  });
}

/** Every document of a YAML manifest file. */
export function readManifest(path: string): KubeObject[] {
  return parseManifests(readFileSync(path, "utf8"), path);
}

function matchesTarget(object: KubeObject, target: PatchTarget, where: string): boolean {
  for (const field of Object.keys(target)) {
    if (!supportedTargetFields.has(field)) throw new Error(`${where}: target "${field}" is not supported`);
  }
  // kustomize reads the name as a regular expression: accept only names that mean the same either way.
  if (target.name !== undefined && !/^[a-z0-9.-]+$/.test(target.name)) {
    throw new Error(`${where}: target name must be an exact name`);
  }
  const [group, version] = object.apiVersion.includes("/")
    ? (object.apiVersion.split("/") as [string, string])
    : ["", object.apiVersion];
  if (target.group !== undefined && target.group !== group) return false;
  if (target.version !== undefined && target.version !== version) return false;
  if (target.kind !== undefined && target.kind !== object.kind) return false;
  if (target.name !== undefined && target.name !== object.metadata.name) return false;
  if (target.labelSelector !== undefined) {
    for (const term of target.labelSelector.split(",")) {
      const match = /^([^=!]+)=([^=]*)$/.exec(term.trim());
      if (!match) throw new Error(`${where}: only key=value label selectors are supported`);
      if (object.metadata.labels?.[match[1] as string] !== match[2]) return false;
    }
  }
  return true;
}

/** Applies one RFC 6902 operation (add, remove, replace) in place; a path that does not resolve throws. */
function applyOperation(object: KubeObject, operation: JsonPatchOperation, where: string): void {
  if (!supportedOperations.has(operation.op))
    throw new Error(`${where}: op "${operation.op}" is not supported`);
  if (!operation.path.startsWith("/"))
    throw new Error(`${where}: path "${operation.path}" must start with /`);
  const keys = operation.path
    .slice(1)
    .split("/")
    .map((key) => key.replaceAll("~1", "/").replaceAll("~0", "~"));
  const last = keys.pop() as string;
  let parent: unknown = object;
  for (const key of keys) {
    parent = childOf(parent, key);
    if (parent === undefined)
      throw new Error(`${where}: ${operation.path} does not exist in ${objectId(object)}`);
  }
  const impossible = () =>
    new Error(`${where}: cannot ${operation.op} ${operation.path} in ${objectId(object)}`);

  if (Array.isArray(parent)) {
    const index = last === "-" && operation.op === "add" ? parent.length : Number(last);
    const bound = operation.op === "add" ? parent.length : parent.length - 1;
    if (!/^\d+$|^-$/.test(last) || !Number.isInteger(index) || index > bound) throw impossible();
    if (operation.op === "add") parent.splice(index, 0, structuredClone(operation.value));
    else if (operation.op === "replace") parent[index] = structuredClone(operation.value);
    else parent.splice(index, 1);
    return;
  }
  if (parent === null || typeof parent !== "object") throw impossible();
  const record = parent as Record<string, unknown>;
  if (operation.op !== "add" && !(last in record)) throw impossible();
  if (operation.op === "remove") delete record[last];
  else record[last] = structuredClone(operation.value);
}

function childOf(parent: unknown, key: string): unknown {
  if (Array.isArray(parent)) return /^\d+$/.test(key) ? parent[Number(key)] : undefined;
  if (parent !== null && typeof parent === "object") return (parent as Record<string, unknown>)[key];
  return undefined;
}
