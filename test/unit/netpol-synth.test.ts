/**
 * The NetworkPolicies synthesized from the real definition, evaluated with the NetworkPolicy
 * semantics of src/netpol: the paths the definition declares are open, everything else is not.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeObject } from "../../src/core/object.js";
import { loadDefinition } from "../../src/model/load.js";
import { buildInventory, INTERNET_IP } from "../../src/netpol/inventory.js";
import { evaluate, parsePolicies, type Endpoint } from "../../src/netpol/semantics.js";
import { validateObjects } from "../../src/schema/validate.js";
import { synthesize } from "../../src/synth/index.js";
import { synthNetworkPolicies } from "../../src/synth/netpol.js";
import { REPO_ROOT } from "../helpers/definition.js";

const { model } = loadDefinition(REPO_ROOT);
const placed = synthesize(model);
const objects = placed.map((p) => p.object);
const netpols = placed.filter((p) => p.object.kind === "NetworkPolicy");
const { policies, problems } = parsePolicies(objects);
const inv = buildInventory(model, objects);

function ep(id: string): Endpoint {
  const e = inv.endpoints.find((x) => x.endpoint.id === id);
  assert.ok(e, `no endpoint ${id} in the inventory`);
  return e.endpoint;
}
const outside = (ip: string): Endpoint => ({ kind: "external", id: ip, ip });
const can = (from: Endpoint | string, to: Endpoint | string, port: number, protocol: "TCP" | "UDP" = "TCP") =>
  evaluate(policies, inv.namespaces, typeof from === "string" ? ep(from) : from, typeof to === "string" ? ep(to) : to, port, protocol).allowed;

describe("synthesized NetworkPolicies (real definition)", () => {
  it("are read without problems", () => {
    assert.deepEqual(problems, []);
    assert.equal(policies.length, netpols.length);
  });

  it("pass schema validation", async () => {
    assert.deepEqual(await validateObjects(netpols), []);
  });

  it("deny by default and allow DNS in every namespace of the definition", () => {
    for (const ns of model.namespaces) {
      const deny = netpols.find((p) => p.object.metadata.namespace === ns.name && p.object.metadata.name === "default-deny");
      assert.ok(deny, `no default-deny in ${ns.name}`);
      assert.deepEqual(deny.object.spec, { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
      assert.ok(
        netpols.some((p) => p.object.metadata.namespace === ns.name && p.object.metadata.name === "allow-dns"),
        `no allow-dns in ${ns.name}`,
      );
    }
    for (const id of inv.endpoints.filter((e) => e.endpoint.kind === "pod" && e.endpoint.id !== "kube-system/kube-dns").map((e) => e.endpoint.id)) {
      assert.ok(can(id, "kube-system/kube-dns", 53, "UDP") && can(id, "kube-system/kube-dns", 53, "TCP"), `${id} cannot resolve names`);
    }
  });

  it("are placed with their app, or under infrastructure/configs/netpol per namespace", () => {
    for (const { object, file } of netpols) {
      const ns = object.metadata.namespace!;
      const app = model.apps.find((a) => a.namespace === ns);
      assert.equal(file, app ? `apps/${app.name}/networkpolicies.yaml` : `infrastructure/configs/netpol/${ns}.yaml`, `${ns}/${object.metadata.name}`);
    }
  });

  it("have unique descriptive names, baseline first", () => {
    const byNs = new Map<string, string[]>();
    for (const { object } of netpols) byNs.set(object.metadata.namespace!, [...(byNs.get(object.metadata.namespace!) ?? []), object.metadata.name]);
    for (const [ns, names] of byNs) {
      assert.equal(new Set(names).size, names.length, `duplicate names in ${ns}`);
      assert.deepEqual(names.slice(0, 2), ["default-deny", "allow-dns"], ns);
      for (const n of names.slice(2)) assert.match(n, /^allow-[a-z0-9]+(-[a-z0-9]+)*$/, `${ns}/${n}`);
    }
  });

  it("are deterministic", () => {
    assert.deepEqual(synthNetworkPolicies(model), synthNetworkPolicies(model));
  });

  it("ffl: frontend reaches backend on 8000, not redis; backend reaches redis and postgres", () => {
    assert.equal(can("ffl/frontend", "ffl/backend", 8000), true);
    assert.equal(can("ffl/frontend", "ffl/redis", 6379), false);
    assert.equal(can("ffl/frontend", "infra/postgres", 5432), false);
    assert.equal(can("ffl/backend", "ffl/redis", 6379), true);
    assert.equal(can("ffl/backend", "infra/postgres", 5432), true);
    assert.equal(can("ffl/backend#migrate", "infra/postgres", 5432), true, "the migration Job shares the component's selector");
    assert.equal(can("ffl/redis", "ffl/backend", 8000), false, "edges are one-way");
    assert.equal(can("ffl/backend", "internet", 443), false, "ffl declares no external host");
  });

  it("nothing in ffl reaches midwestmtg, on any port", () => {
    const ffl = inv.endpoints.filter((e) => e.group.kind === "app" && e.group.app === "ffl");
    const mw = inv.endpoints.filter((e) => e.group.kind === "app" && e.group.app === "midwestmtg");
    assert.ok(ffl.length >= 3 && mw.length >= 4);
    for (const s of ffl) {
      for (const d of mw) {
        for (const port of [...(d.endpoint.kind === "pod" ? d.endpoint.ports.map((p) => p.port) : []), 80, 443, 6379, 8000, 8080]) {
          assert.equal(can(s.endpoint, d.endpoint, port), false, `${s.endpoint.id} -> ${d.endpoint.id}:${port}`);
        }
      }
    }
  });

  it("triager: database users reach postgres 5432, the others do not", () => {
    for (const c of ["orchestrator", "classifier", "duplicate"]) assert.equal(can(`triager/${c}`, "infra/postgres", 5432), true, c);
    for (const c of ["doc-generator", "git-manager", "redis"]) assert.equal(can(`triager/${c}`, "infra/postgres", 5432), false, c);
    assert.equal(can("triager/classifier", "triager/orchestrator", 8080), true);
    assert.equal(can("triager/classifier", "triager/redis", 6379), true);
  });

  it("ccbot: public addresses on 443 only; not the LAN registry, not other ports", () => {
    assert.equal(can("ccbot/bot", outside(INTERNET_IP), 443), true);
    assert.equal(can("ccbot/bot", outside("162.159.135.232"), 443), true, "any public address: NetworkPolicy cannot name discord.com");
    assert.equal(can("ccbot/bot", outside("192.168.7.21"), 5000), false);
    assert.equal(can("ccbot/bot", outside("192.168.7.21"), 443), false, "private ranges are excluded even on 443");
    assert.equal(can("ccbot/bot", "registry/registry", 5000), false);
    assert.equal(can("ccbot/bot", outside(INTERNET_IP), 80), false);
  });

  it("states the host limitation on every external-egress policy", () => {
    const ext = netpols.filter((p) => p.object.metadata.name.endsWith("-to-internet") && p.file.startsWith("apps/"));
    assert.equal(ext.length, model.components.filter((c) => c.edges.some((e) => e.to.kind === "external")).length);
    for (const { object } of ext) {
      assert.match(object.metadata.annotations?.["beckerkube.io/purpose"] ?? "", /NetworkPolicy cannot name hosts/);
      const spec = object.spec as { egress: Array<{ to: Array<{ ipBlock?: { cidr: string; except?: string[] } }> }> };
      assert.deepEqual(spec.egress[0]!.to[0]!.ipBlock, { cidr: "0.0.0.0/0", except: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"] });
    }
  });

  it("routes are reachable from ingress-nginx and the Istio gateway; metrics from Prometheus only on the metrics port", () => {
    for (const c of model.components.filter((x) => x.route)) {
      assert.equal(can("ingress-nginx/ingress-nginx", c.id, c.port!), true, c.id);
      assert.equal(can("istio-ingress/istio-gateway", c.id, c.port!), true, c.id);
    }
    assert.equal(can("ingress-nginx/ingress-nginx", "ffl/redis", 6379), false);
    assert.equal(can("monitoring/prometheus", "mtg-dev-agents/orchestrator", 9090), true);
    assert.equal(can("monitoring/prometheus", "mtg-dev-agents/orchestrator", 8080), false, "the app port is not the metrics port");
    assert.equal(can("monitoring/grafana", "ffl/backend", 8000), false);
  });

  it("infrastructure: LAN entry points, Flux, the operator and the backup reach what they need", () => {
    const lan = outside("192.168.7.2");
    assert.equal(can(lan, "registry/registry", 5000), true);
    assert.equal(can(lan, "infra/chartmuseum", 8080), true);
    assert.equal(can(lan, "infra/postgres", 5432), true);
    assert.equal(can(lan, "ingress-nginx/ingress-nginx", 443), true);
    assert.equal(can(lan, "ffl/backend", 8000), false, "apps are reached through the entry points only");
    assert.equal(can("flux-system/source-controller", "infra/chartmuseum", 8080), true);
    assert.equal(can("flux-system/source-controller", outside(INTERNET_IP), 22), true);
    assert.equal(can("cnpg-system/cnpg-operator", "infra/postgres", 8000), true);
    assert.equal(can("infra/postgres-backup", "infra/postgres", 5432), true);
    assert.equal(can("logging/fluent-bit", "logging/loki", 3100), true);
    assert.equal(can("monitoring/grafana", "monitoring/prometheus", 9090), true);
    assert.equal(can("monitoring/grafana", "logging/loki", 3100), true);
    assert.equal(can("cert-manager/cert-manager", outside(INTERNET_IP), 443), false, "no ACME: no internet");
  });
});

describe("synthesized NetworkPolicies follow the definition", () => {
  it("a component without port, route or edges gets only the baseline", () => {
    const bot = netpols.filter((p) => p.object.metadata.namespace === "ccbot").map((p) => p.object.metadata.name);
    assert.deepEqual(bot, ["default-deny", "allow-dns", "allow-bot-to-internet"]);
  });

  it("cross-namespace peers name the namespace by kubernetes.io/metadata.name", () => {
    const o = netpols.find((p) => p.object.metadata.namespace === "ffl" && p.object.metadata.name === "allow-backend-to-postgres")!.object as KubeObject & {
      spec: { egress: Array<{ to: unknown[]; ports: unknown[] }> };
    };
    assert.deepEqual(o.spec.egress, [
      {
        to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "infra" } }, podSelector: { matchLabels: { "cnpg.io/cluster": "postgres" } } }],
        ports: [{ protocol: "TCP", port: 5432 }],
      },
    ]);
    assert.ok(netpols.some((p) => p.object.metadata.namespace === "infra" && p.object.metadata.name === "allow-postgres-from-ffl-backend"));
  });
});
