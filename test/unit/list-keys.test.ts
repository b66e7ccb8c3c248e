/** List-map keys the API server enforces and JSON Schema cannot express. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeObject } from "../../src/core/object.js";
import { checkListKeys } from "../../src/schema/list-keys.js";

const at = (object: KubeObject) => [{ object, file: "apps/ffl/backend.yaml" }];

describe("list-map keys", () => {
  it("rejects a Service with one port number twice (the chart bug the control plane found)", () => {
    const svc = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "ffl-backend", namespace: "ffl" },
      spec: {
        ports: [
          { name: "http", port: 8000 },
          { name: "metrics", port: 8000, protocol: "TCP" },
        ],
      },
    };
    const [f, ...rest] = checkListKeys(at(svc));
    assert.equal(rest.length, 0);
    assert.equal(f!.rule, "schema/duplicate-key");
    assert.equal(f!.field, "spec.ports[1]");
    assert.match(f!.message, /duplicate entries for key \[port=8000,protocol="TCP"\]: items 0 and 1/);
  });

  it("accepts one number on two protocols, and distinct numbers", () => {
    const svc = { apiVersion: "v1", kind: "Service", metadata: { name: "dns" }, spec: { ports: [{ port: 53, protocol: "UDP" }, { port: 53, protocol: "TCP" }, { port: 9153 }] } };
    assert.deepEqual(checkListKeys(at(svc)), []);
  });

  it("rejects duplicate container names and container ports in any pod template", () => {
    const c = (name: string, port: number) => ({ name, image: "x", ports: [{ containerPort: port }, { containerPort: port }] });
    const cron = { apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "j" }, spec: { jobTemplate: { spec: { template: { spec: { containers: [c("a", 80), c("a", 81)] } } } } } };
    const fields = checkListKeys(at(cron))
      .map((f) => f.field)
      .sort();
    assert.deepEqual(fields, ["spec.jobTemplate.spec.template.spec.containers[0].ports[1]", "spec.jobTemplate.spec.template.spec.containers[1]", "spec.jobTemplate.spec.template.spec.containers[1].ports[1]"]);
  });
});
