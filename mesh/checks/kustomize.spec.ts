import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  configMapHash,
  type KubeObject,
  objectId,
  parseManifests,
  renderKustomization,
} from "./kustomize.js";
import { overlayNames } from "./overlays.js";
import { overlaysDir } from "./repo-paths.js";

const root = mkdtempSync(join(tmpdir(), "tourmesh-kustomize-"));
after(() => rmSync(root, { recursive: true, force: true }));

let fixtures = 0;
/** Writes files (path → content) into a fresh directory and returns it. */
function fixture(files: Record<string, string>): string {
  const dir = join(root, String(fixtures++));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

const route = (name: string, labels = "") => `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: ${name}
  namespace: demo
${labels}spec:
  rules:
    - backendRefs:
        - name: a
          port: 1
          weight: 100
`;

const base = {
  "base/kustomization.yaml": "resources:\n  - routes.yaml\n  - config.yaml\n",
  "base/routes.yaml": `${route("one", "  labels:\n    split: x\n")}---\n${route("two", "  labels:\n    split: x\n")}---\n${route("three")}`,
  "base/config.yaml":
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: demo\ndata:\n  a/b: "1"\n',
};

/** A kubectl whose embedded kustomize is v5 or later (Debian's kubectl 1.20 embeds kustomize 2). */
function kubectlWithKustomize5(): boolean {
  const version = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" });
  const kustomize = /Kustomize Version: v(\d+)/.exec(version.stdout ?? "");
  return version.status === 0 && Number(kustomize?.[1]) >= 5;
}

const kubectlAvailable = kubectlWithKustomize5();

/** Asserts that `kubectl kustomize dir` renders the same objects as the renderer. */
function assertSameAsKubectl(dir: string): void {
  const rendered = spawnSync("kubectl", ["kustomize", dir], { encoding: "utf8" });
  assert.equal(rendered.status, 0, rendered.stderr);
  const byId = (objects: KubeObject[]) => new Map(objects.map((object) => [objectId(object), object]));
  const theirs = byId(parseManifests(rendered.stdout, "kubectl kustomize"));
  const ours = byId(renderKustomization(dir));
  assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort());
  for (const [id, object] of ours) assert.deepEqual(object, theirs.get(id), id);
}

function weights(objects: KubeObject[], name: string): unknown {
  const found = objects.find((object) => object.metadata.name === name) as unknown as {
    spec: { rules: Array<{ backendRefs: Array<{ weight?: number }> }> };
  };
  return found.spec.rules[0]?.backendRefs.map((backend) => backend.weight);
}

describe("the kustomize renderer", () => {
  it("collects resources from files and from nested kustomizations, in order", () => {
    const dir = fixture({ ...base, "overlay/kustomization.yaml": "resources:\n  - ../base\n" });
    assert.deepEqual(
      renderKustomization(join(dir, "overlay")).map((object) => object.metadata.name),
      ["one", "two", "three", "settings"],
    );
  });

  it("applies JSON 6902 patches to the resources the target selects, by label, kind and name", () => {
    const dir = fixture({
      ...base,
      "overlay/kustomization.yaml": `resources:
  - ../base
patches:
  - target:
      group: gateway.networking.k8s.io
      version: v1
      kind: GRPCRoute
      labelSelector: split=x
    patch: |-
      - op: replace
        path: /spec/rules/0/backendRefs/0/weight
        value: 90
      - op: add
        path: /spec/rules/0/backendRefs/-
        value: {name: b, port: 1, weight: 10}
  - target:
      kind: ConfigMap
      name: settings
    patch: |-
      - op: remove
        path: /data/a~1b
      - op: add
        path: /data/c
        value: "2"
`,
    });
    const objects = renderKustomization(join(dir, "overlay"));
    assert.deepEqual(weights(objects, "one"), [90, 10]);
    assert.deepEqual(weights(objects, "two"), [90, 10]);
    assert.deepEqual(weights(objects, "three"), [100], "a route without the label is left alone");
    assert.deepEqual(objects.find((object) => object.kind === "ConfigMap")?.data, { c: "2" });
    if (kubectlAvailable) assertSameAsKubectl(join(dir, "overlay"));
  });

  it("names generated ConfigMaps as kustomize does (its own test vectors)", () => {
    assert.equal(configMapHash({}), "42745tchd9");
    assert.equal(configMapHash({ one: "" }), "9g67k2htb6");
    assert.equal(configMapHash({ two: "2", one: "", three: "3" }), "f5h7t85m9b");
  });

  it("generates ConfigMaps from files and points the pods of every level at their hashed names", () => {
    const deployment = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: demo
spec:
  template:
    spec:
      containers:
        - name: app
          image: app:1.0.0
          envFrom:
            - configMapRef: {name: files}
      volumes:
        - name: files
          configMap: {name: files}
        - name: other
          configMap: {name: settings}
`;
    const dir = fixture({
      "files/kustomization.yaml":
        "configMapGenerator:\n  - name: files\n    namespace: demo\n    files: [a.json, sub/b.yaml]\n",
      "files/a.json": '{"a": "<b>"}\n',
      "files/sub/b.yaml": "b: 1\n",
      "files/inner.yaml": deployment("inner"),
      "overlay/kustomization.yaml": "resources:\n  - ../files\n  - outer.yaml\n",
      "overlay/outer.yaml": deployment("outer"),
    });
    const objects = renderKustomization(join(dir, "overlay"));
    const data = { "a.json": '{"a": "<b>"}\n', "b.yaml": "b: 1\n" };
    const name = `files-${configMapHash(data)}`;
    assert.deepEqual(objects[0], {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: "demo" },
      data,
    });
    const outer = objects.find((object) => object.metadata.name === "outer") as unknown as {
      spec: {
        template: {
          spec: {
            containers: Array<{ envFrom: Array<{ configMapRef: { name: string } }> }>;
            volumes: Array<{ configMap: { name: string } }>;
          };
        };
      };
    };
    assert.equal(outer.spec.template.spec.volumes[0]?.configMap.name, name);
    assert.equal(outer.spec.template.spec.containers[0]?.envFrom[0]?.configMapRef.name, name);
    assert.equal(
      outer.spec.template.spec.volumes[1]?.configMap.name,
      "settings",
      "other ConfigMaps keep their names",
    );
    if (kubectlAvailable) assertSameAsKubectl(join(dir, "overlay"));
  });

  const failures: Array<[string, Record<string, string>, RegExp]> = [
    [
      "a field it does not support",
      { "kustomization.yaml": "resources: []\nnamePrefix: x-\n" },
      /namePrefix/,
    ],
    [
      "a resource defined twice",
      {
        "kustomization.yaml": "resources:\n  - a.yaml\n  - b.yaml\n",
        "a.yaml": route("one"),
        "b.yaml": route("one"),
      },
      /defined twice/,
    ],
    [
      "a generated file outside the kustomization's folder",
      {
        ...base,
        "o/kustomization.yaml": "configMapGenerator:\n  - name: x\n    files: [../base/config.yaml]\n",
      },
      /not in or below/,
    ],
    [
      "a generator option it does not support",
      {
        "kustomization.yaml": "configMapGenerator:\n  - name: x\n    literals: [a=b]\n",
      },
      /"literals" is not supported/,
    ],
    [
      "a strategic merge patch",
      {
        ...base,
        "o/kustomization.yaml":
          "resources: [../base]\npatches:\n  - target: {kind: ConfigMap}\n    patch: 'data: {}'\n",
      },
      /only JSON 6902/,
    ],
    [
      "a patch from a file",
      { ...base, "o/kustomization.yaml": "resources: [../base]\npatches:\n  - path: p.yaml\n" },
      /"path" is not supported/,
    ],
    [
      "a target that matches nothing",
      {
        ...base,
        "o/kustomization.yaml":
          "resources: [../base]\npatches:\n  - target: {kind: Secret}\n    patch: '[]'\n",
      },
      /matches no resource/,
    ],
    [
      "a target name kustomize would read as a pattern",
      {
        ...base,
        "o/kustomization.yaml":
          "resources: [../base]\npatches:\n  - target: {name: 't.*'}\n    patch: '[]'\n",
      },
      /exact name/,
    ],
    [
      "a path that does not resolve",
      {
        ...base,
        "o/kustomization.yaml":
          "resources: [../base]\npatches:\n  - target: {kind: ConfigMap}\n    patch: '[{op: replace, path: /spec/x, value: 1}]'\n",
      },
      /does not exist|cannot replace/,
    ],
    [
      "an operation it does not support",
      {
        ...base,
        "o/kustomization.yaml":
          "resources: [../base]\npatches:\n  - target: {kind: ConfigMap}\n    patch: '[{op: copy, from: /data, path: /x}]'\n",
      },
      /op "copy"/,
    ],
  ];
  for (const [what, files, message] of failures) {
    it(`refuses ${what}`, () => {
      const dir = fixture(files);
      const start = files["o/kustomization.yaml"] ? join(dir, "o") : dir;
      assert.throws(() => renderKustomization(start), message);
    });
  }
});

describe("the renderer and kubectl kustomize", () => {
  for (const overlay of overlayNames()) {
    it(`render ${overlay} identically`, (t) => {
      if (!kubectlAvailable) {
        t.skip("no kubectl with kustomize v5 on PATH: only the renderer's own tests ran");
        return;
      }
      assertSameAsKubectl(join(overlaysDir, overlay));
    });
  }
});
