/**
 * Operators' mistakes in single fields, each refused at load with the file, line and field to edit,
 * what is wrong and how to fix it; and the grammars behind those checks (quantities, cron
 * schedules, image references) held to the tools that define them.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { quantityToScalar } from "@kubernetes/client-node/dist/util.js";
import { FindingsError, type Finding } from "../../src/core/finding.js";
import { imageRefProblem } from "../../src/core/image-ref.js";
import { compareQuantities, parseQuantity } from "../../src/core/quantity.js";
import { cronProblem } from "../../src/model/cron.js";
import { loadDefinition } from "../../src/model/load.js";
import { runBk } from "../helpers/cli.js";
import { tempDefinition, type DefinitionDocs } from "../helpers/definition.js";

const CLUSTER = "definition/cluster.yaml";
const INFRA = "definition/infrastructure.yaml";

function failuresIn(root: string): Finding[] {
  try {
    loadDefinition(root);
  } catch (err) {
    assert.ok(err instanceof FindingsError, `expected FindingsError, got ${String(err)}`);
    assert.equal(err.exitCode, 2);
    return err.findings;
  }
  assert.fail("the broken definition loaded without error");
}

/** The one finding a broken definition gives; it must name this file, the line holding `needle` (its `nth` time), and `field`. */
function refused(edit: (d: DefinitionDocs) => void, where: { file: string; field: string; needle: string; nth?: number; rule?: string }): Finding {
  const root = tempDefinition(edit);
  const findings = failuresIn(root);
  assert.equal(findings.length, 1, JSON.stringify(findings, null, 1));
  const f = findings[0]!;
  assert.equal(f.rule, where.rule ?? "definition/schema");
  assert.equal(f.file, where.file);
  assert.equal(f.field, where.field);
  const lines = readFileSync(path.join(root, where.file), "utf8").split("\n");
  const line = lines.map((l, i) => (l.includes(where.needle) ? i + 1 : 0)).filter(Boolean)[(where.nth ?? 1) - 1] ?? 0;
  assert.ok(line > 0, `${where.needle} not in ${where.file}`);
  assert.equal(f.line, line);
  return f;
}

const accepted = (edit: (d: DefinitionDocs) => void) => loadDefinition(tempDefinition(edit));

describe("host names", () => {
  const hostnames = ["network", "hostnames", "registry"];
  it("refuses a URL", () => {
    const f = refused((d) => d.cluster.setIn(hostnames, ["https://registry.beckerkube.lan"]), { file: CLUSTER, field: "network.hostnames.registry[0]", needle: "https://registry" });
    assert.equal(f.message, "'https://registry.beckerkube.lan' is a URL, not a host name");
    assert.equal(f.fix, "write only the host name, in lower case, such as registry.beckerkube.lan");
  });

  it("refuses an IP address, in or out of the LoadBalancer table, and a port", () => {
    for (const value of ["192.168.7.21", "192.168.7.99", "registry.beckerkube.lan:5000"]) {
      const f = refused((d) => d.cluster.setIn(hostnames, [value]), { file: CLUSTER, field: "network.hostnames.registry[0]", needle: `- ${value}` });
      assert.equal(f.message, `'${value}' is an address or has a port, not a host name; the endpoint's IP is in its certificate already`);
    }
  });

  it("refuses upper case, underscores and empty labels (DNS-1123 subdomain)", () => {
    for (const value of ["Registry.beckerkube.lan", "my_registry.lan", "registry..lan", ""]) {
      const f = refused((d) => d.cluster.setIn(hostnames, ["registry.beckerkube.lan", value]), { file: CLUSTER, field: "network.hostnames.registry[1]", needle: value ? `- ${value}` : '- ""' });
      assert.match(f.message, /is not a DNS-1123 subdomain/);
    }
  });

  it("refuses one name on two endpoints", () => {
    const f = refused((d) => d.cluster.setIn(["network", "hostnames", "chartmuseum"], ["registry.beckerkube.lan"]), {
      file: CLUSTER,
      field: "network.hostnames.chartmuseum[0]",
      needle: "- registry.beckerkube.lan",
      rule: "definition/hostname-duplicate",
    });
    assert.equal(f.message, "hostname registry.beckerkube.lan is already a name of registry");
  });
});

describe("ports", () => {
  it("refuses two ports of one service with the same name", () => {
    const f = refused((d) => d.infra.setIn(["ingressNginx", "loadBalancer", "ports", 1, "name"], "http"), {
      file: INFRA,
      field: "ingressNginx.loadBalancer.ports[1].name",
      needle: "{ name: http, port: 80 }, { name: http,",
      rule: "definition/port-name-duplicate",
    });
    assert.equal(f.message, "ingress-nginx names two ports 'http'");
  });

  it("refuses a port name Kubernetes would not take (over 15 characters)", () => {
    const f = refused((d) => d.infra.setIn(["registry", "loadBalancer", "ports", 0, "name"], "registry-service-port"), { file: INFRA, field: "registry.loadBalancer.ports[0].name", needle: "registry-service-port" });
    assert.equal(f.message, "port name must be at most 15 characters");
  });
});

describe("cron schedules", () => {
  const addJob = (d: DefinitionDocs, schedule: string, name = "nightly") => d.apps.triager!.setIn(["components", "orchestrator", "cronJobs"], [{ name, schedule, command: ["run"] }]);

  it("refuses words and values out of range in the backup schedule", () => {
    const words = refused((d) => d.infra.setIn(["postgres", "backup", "schedule"], "nightly"), { file: INFRA, field: "postgres.backup.schedule", needle: 'schedule: "nightly"' });
    assert.equal(words.message, "schedule 'nightly': has 1 field; a schedule has five: minute hour day-of-month month day-of-week");
    assert.match(words.fix, /such as '15 3 \* \* \*', or a macro such as @daily/);
    const range = refused((d) => d.infra.setIn(["postgres", "backup", "schedule"], "15 25 * * *"), { file: INFRA, field: "postgres.backup.schedule", needle: "15 25" });
    assert.equal(range.message, "schedule '15 25 * * *': got value 25 expected range 0-23");
  });

  it("refuses a bad application CronJob schedule and a repeated job name", () => {
    const f = refused((d) => addJob(d, "0 0 * * 8"), { file: "definition/apps/triager.yaml", field: "components.orchestrator.cronJobs[0].schedule", needle: "0 0 * * 8" });
    assert.match(f.message, /^schedule '0 0 \* \* 8': /);
    const dup = refused(
      (d) =>
        d.apps.triager!.setIn(
          ["components", "orchestrator", "cronJobs"],
          [
            { name: "sweep", schedule: "@hourly", command: ["a"] },
            { name: "sweep", schedule: "@daily", command: ["b"] },
          ],
        ),
      { file: "definition/apps/triager.yaml", field: "components.orchestrator.cronJobs[1].name", needle: "name: sweep", nth: 2, rule: "definition/cronjob-duplicate" },
    );
    assert.equal(dup.message, "triager/orchestrator declares cron job 'sweep' twice");
  });

  it("accepts the macros Kubernetes accepts", () => {
    for (const schedule of ["@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "*/15 * * * *", "0 3 * * MON-FRI"]) accepted((d) => addJob(d, schedule));
  });

  it("reads schedules as Kubernetes does", () => {
    assert.equal(cronProblem("15 3 * * *"), undefined);
    assert.equal(cronProblem(""), "is empty");
    assert.equal(cronProblem("0 0 * * * *"), "has 6 fields; a schedule has five: minute hour day-of-month month day-of-week");
    assert.equal(cronProblem("0 0 L * *"), "the day of month field 'L' is not a number, range, list or step");
    assert.equal(cronProblem("H 3 * * *"), "the minute field 'H' is not a number, range, list or step");
    assert.equal(cronProblem("0 0 * * 1#2"), "the day of week field '1#2' is not a number, range, list or step");
    assert.equal(cronProblem("0 0 * * 0-7"), "day of week 7 is refused by Kubernetes; Sunday is 0");
    assert.equal(cronProblem("@every 5m"), "unknown macro '@every 5m'; Kubernetes knows @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly");
    assert.equal(cronProblem("CRON_TZ=UTC 0 0 * * *"), "a time zone inside the schedule is refused by Kubernetes; CronJobs run in the controller's time zone");
    assert.equal(cronProblem("*/0 * * * *"), "cannot repeat at every 0 time.");
  });
});

describe("resources", () => {
  it("refuses an infrastructure limit below its request", () => {
    const f = refused((d) => d.infra.setIn(["registry", "resources", "limits", "memory"], "64Mi"), { file: INFRA, field: "registry.resources.limits.memory", needle: "limits: { cpu" });
    assert.equal(f.message, "the memory limit 64Mi is below the request 128Mi; Kubernetes refuses such a pod");
    assert.equal(f.fix, "raise limits.memory to at least 128Mi, or lower requests.memory");
  });

  it("refuses an application limit below its request, across units", () => {
    const resources = { requests: { cpu: "0.5", memory: "1Gi" }, limits: { cpu: "250m", memory: "1e9" } };
    const root = tempDefinition((d) => d.apps.ffl!.setIn(["components", "backend", "resources"], resources));
    const findings = failuresIn(root);
    assert.deepEqual(
      findings.map((f) => [f.field, f.message]),
      [
        ["components.backend.resources.limits.cpu", "the cpu limit 250m is below the request 0.5; Kubernetes refuses such a pod"],
        ["components.backend.resources.limits.memory", "the memory limit 1e9 is below the request 1Gi; Kubernetes refuses such a pod"],
      ],
    );
  });

  it("accepts equal values written differently", () => {
    accepted((d) => d.apps.ffl!.setIn(["components", "backend", "resources"], { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1000m", memory: "1.0Gi" } }));
  });

  it("refuses invalid and negative quantities", () => {
    const bad = refused((d) => d.infra.setIn(["registry", "storage"], "50GB"), { file: INFRA, field: "registry.storage", needle: "storage: 50GB" });
    assert.equal(bad.message, "'50GB' is not a Kubernetes quantity such as 512Mi or 10Gi");
    const negative = refused((d) => d.infra.setIn(["registry", "resources", "requests", "cpu"], "-50m"), { file: INFRA, field: "registry.resources.requests.cpu", needle: "requests: { cpu" });
    assert.equal(negative.message, "'-50m' is negative");
    const zero = refused((d) => d.infra.setIn(["logging", "storage"], "0"), { file: INFRA, field: "logging.storage", needle: 'storage: "0"' });
    assert.equal(zero.message, "'0' is zero");
  });

  it("reads quantities to the same value as client-node, where client-node reads them", () => {
    for (const q of ["0", "1", "250m", "1500m", "128Mi", "1Gi", "2Ti", "1k", "5M", "3G", "1e3", "12E", "7Ki"]) {
      const ours = parseQuantity(q)!;
      const theirs = quantityToScalar(q);
      assert.equal(Number(ours.num) / Number(ours.den), Number(theirs), q);
    }
    // What client-node gets wrong, and the API server's grammar settles.
    for (const q of ["0x10", " 5", "Infinity", "", "1.5.5", "5 Mi", "1ki", "1e1000"]) assert.equal(parseQuantity(q), undefined, q);
    assert.equal(compareQuantities(parseQuantity("1.5Gi")!, parseQuantity("1536Mi")!), 0);
    assert.equal(compareQuantities(parseQuantity("0.1")!, parseQuantity("99m")!), 1);
  });
});

describe("images", () => {
  it("refuses upper case in the repository, a URL, no tag and 'latest'", () => {
    const cases: Array<[string, string]> = [
      ["docker.io/Library/registry:3.0.0", "the repository 'docker.io/Library/registry' has upper-case letters; repository paths are lower case"],
      ["https://docker.io/library/registry:3.0.0", "is a URL; an image reference has no scheme (registry.example:5000/team/app:1.0)"],
      ["docker.io/library/registry", "has no tag, so it means `latest`"],
      ["docker.io/library/registry:latest", "uses the moving tag `latest`"],
      ["docker.io/library/registry:3.0.0@sha256:abc", "digest 'sha256:abc' is not algorithm:hex, such as sha256:<64 hex digits>"],
    ];
    for (const [value, problem] of cases) {
      const f = refused((d) => d.infra.setIn(["registry", "image"], value), { file: INFRA, field: "registry.image", needle: `image: ${value}` });
      assert.equal(f.message, `image '${value}'${problem.startsWith("has no") || problem.startsWith("uses") ? " " : ": "}${problem}`);
      assert.match(f.fix, /lower-case repository/);
    }
  });

  it("follows the distribution reference grammar", () => {
    for (const ok of ["registry:3.0.0", "localhost:5000/a/b:1", "192.168.7.21:5000/ffl/backend:1.4.2", "ghcr.io/a__b/c-d.e:v1_2", "a/b@sha256:" + "0".repeat(64), "[::1]:5000/x:1"])
      assert.equal(imageRefProblem(ok), undefined, ok);
    assert.match(imageRefProblem("a/b_/c:1")!, /is not a repository name/);
    assert.match(imageRefProblem("a/-b:1")!, /is not a repository name/);
    assert.match(imageRefProblem("a/b:.1")!, /tag '\.1' is not a tag/);
    assert.match(imageRefProblem("a/b:" + "x".repeat(129))!, /is not a tag/);
    assert.equal(imageRefProblem("a/b :1"), "contains white space");
  });
});

describe("renewal durations", () => {
  it("refuses certificates that renew at or after expiry", () => {
    const f = refused((d) => d.infra.setIn(["certManager", "renewBefore"], "2160h"), { file: INFRA, field: "certManager.renewBefore", needle: "renewBefore: 2160h" });
    assert.equal(f.message, "renewBefore 2160h is not shorter than certificateDuration 2160h: certificates would renew at or after expiry");
    assert.equal(f.fix, "make renewBefore shorter than certificateDuration, such as a third of it");
  });

  it("refuses a certificate that outlives its CA, and an invalid duration", () => {
    const f = refused((d) => d.infra.setIn(["certManager", "certificateDuration"], "100000h"), { file: INFRA, field: "certManager.certificateDuration", needle: "certificateDuration: 100000h" });
    assert.match(f.message, /outlives the CA \(87600h\)/);
    const words = refused((d) => d.infra.setIn(["certManager", "renewBefore"], "30 days"), { file: INFRA, field: "certManager.renewBefore", needle: "renewBefore: 30 days" });
    assert.equal(words.message, "must be a duration such as 30s, 1m, 10m or 1h30m");
  });

  it("refuses a sealing-key renewal that is not a duration or comes after the key expires", () => {
    const words = refused((d) => d.infra.setIn(["sealedSecrets", "keyRenewPeriod"], "monthly"), { file: INFRA, field: "sealedSecrets.keyRenewPeriod", needle: "keyRenewPeriod:" });
    assert.equal(words.message, `'monthly' is not "0" or a duration such as 720h`);
    const late = refused((d) => d.infra.setIn(["sealedSecrets", "keyRenewPeriod"], "90000h"), { file: INFRA, field: "sealedSecrets.keyRenewPeriod", needle: "keyRenewPeriod:" });
    assert.equal(late.message, "'90000h' renews the sealing key at or after its certificate expires (87600h)");
    accepted((d) => d.infra.setIn(["sealedSecrets", "keyRenewPeriod"], "720h"));
  });

  it("refuses a zero interval", () => {
    const f = refused((d) => d.cluster.setIn(["gitops", "interval"], "0s"), { file: CLUSTER, field: "gitops.interval", needle: "interval: 0s" });
    assert.equal(f.message, "a zero duration never elapses");
  });
});

describe("names and counts", () => {
  it("refuses a replica count beyond int32", () => {
    const f = refused((d) => d.apps.ffl!.setIn(["components", "backend", "replicas"], 1e10), { file: "definition/apps/ffl.yaml", field: "components.backend.replicas", needle: "replicas: 10000000000" });
    assert.equal(f.message, "must be at most 2147483647");
  });

  it("refuses two volumes on one mount path and a secret declared twice", () => {
    const mount = refused((d) => d.apps.ffl!.setIn(["components", "redis", "secretFiles"], [{ secret: "ffl-backend", mountPath: "/data" }]), {
      file: "definition/apps/ffl.yaml",
      field: "components.redis.persistence.mountPath",
      needle: "persistence:",
      rule: "definition/mount-duplicate",
    });
    assert.equal(mount.message, "ffl/redis mounts two volumes at /data");
    const secret = refused(
      (d) =>
        d.apps.ffl!.set("secrets", [
          { name: "ffl-backend", keys: { "secret-key": "generate" } },
          { name: "ffl-backend", keys: { other: "operator" } },
        ]),
      { file: "definition/apps/ffl.yaml", field: "secrets[1].name", needle: "name: ffl-backend", nth: 2, rule: "definition/secret-duplicate" },
    );
    assert.equal(secret.message, "secret ffl-backend is declared twice");
  });
});

describe("where a finding points", () => {
  it("names an unknown top-level field and its line", () => {
    const f = refused((d) => d.apps.ffl!.set("nmae", "ffl"), { file: "definition/apps/ffl.yaml", field: "nmae", needle: "nmae:" });
    assert.equal(f.message, "unknown field 'nmae'");
  });

  it("gives an empty file line 1 and says what it holds", () => {
    const root = tempDefinition();
    writeFileSync(path.join(root, "definition/apps/ffl.yaml"), "# nothing yet\n");
    const [f, ...rest] = failuresIn(root);
    assert.equal(rest.length, 0);
    assert.equal(f!.line, 1);
    assert.equal(f!.message, "the file is empty");
  });

  it("points an alias without an anchor at its line", () => {
    const root = tempDefinition();
    const file = path.join(root, "definition/apps/ffl.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace("description: Fantasy Football League", "description: *nothing"));
    const [f] = failuresIn(root);
    assert.equal(f!.rule, "definition/yaml");
    assert.equal(f!.line, readFileSync(file, "utf8").split("\n").indexOf("description: *nothing") + 1);
  });

  it("points a second file of one application at its name", () => {
    const root = tempDefinition();
    writeFileSync(path.join(root, "definition/apps/zz-copy.yaml"), readFileSync(path.join(root, "definition/apps/ffl.yaml"), "utf8"));
    const [f] = failuresIn(root);
    assert.equal(f!.rule, "definition/app-duplicate");
    assert.equal(f!.line, readFileSync(path.join(root, "definition/apps/zz-copy.yaml"), "utf8").split("\n").indexOf("name: ffl") + 1);
  });

  it("bk synth exits 2 on a URL host name, with the location and the fix, and writes nothing", () => {
    const root = tempDefinition((d) => d.cluster.setIn(["network", "hostnames", "ingress"], ["https://beckerkube.lan"]));
    const r = runBk(["synth", "--root", root]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /definition\/cluster\.yaml:\d+ network\.hostnames\.ingress\[0\]: 'https:\/\/beckerkube\.lan' is a URL, not a host name\n\s+fix: write only the host name/);
    for (const dir of ["clusters", "infrastructure", "apps", "docs"]) assert.equal(existsSync(path.join(root, dir)), false, `${dir} was written`);
  });
});

describe("strings that end up in objects", () => {
  const cases: Array<{ name: string; edit: (d: DefinitionDocs) => void; file: string; field: string; needle: string; message: string | RegExp }> = [
    {
      name: "an external edge with a port past 65535",
      edit: (d) => d.apps.ccbot!.setIn(["components", "bot", "talksTo"], [{ external: "discord.com:99999" }]),
      file: "definition/apps/ccbot.yaml",
      field: "components.bot.talksTo[0].external",
      needle: "discord.com:99999",
      message: "port 99999 of 'discord.com:99999' is not 1..65535",
    },
    {
      name: "a secret key with a space",
      edit: (d) => d.apps.ffl!.setIn(["secrets", 0, "keys"], { "secret key": "generate" }),
      file: "definition/apps/ffl.yaml",
      field: "secrets[0].keys.secret key",
      needle: "secret key:",
      message: "a secret key is letters, digits, '-', '_' and '.'",
    },
    {
      name: "a route with a space",
      edit: (d) => d.apps.ffl!.setIn(["components", "frontend", "route"], "/ffl app"),
      file: "definition/apps/ffl.yaml",
      field: "components.frontend.route",
      needle: "route: /ffl app",
      message: "must be an absolute URL path such as /api/health, without spaces",
    },
    {
      name: "a branch that is no Git branch",
      edit: (d) => d.cluster.setIn(["gitops", "branch"], "main branch"),
      file: CLUSTER,
      field: "gitops.branch",
      needle: "branch: main branch",
      message: "must be a Git branch name such as main",
    },
    {
      name: "a cluster domain that is a URL",
      edit: (d) => d.cluster.setIn(["network", "clusterDomain"], "https://cluster.local"),
      file: CLUSTER,
      field: "network.clusterDomain",
      needle: "clusterDomain:",
      message: "the cluster domain must be a DNS-1123 subdomain such as cluster.local",
    },
    {
      name: "a database extension that is not a name",
      edit: (d) => d.infra.setIn(["postgres", "databases", 0, "extensions"], ["vector; drop"]),
      file: INFRA,
      field: "postgres.databases[0].extensions[0]",
      needle: "vector; drop",
      message: "an extension name such as vector or uuid-ossp",
    },
  ];
  for (const c of cases)
    it(`refuses ${c.name}`, () => {
      const f = refused(c.edit, { file: c.file, field: c.field, needle: c.needle });
      if (typeof c.message === "string") assert.equal(f.message, c.message);
      else assert.match(f.message, c.message);
    });
});

describe("fields that take one of several forms", () => {
  it("says what is wrong inside the form the value has", () => {
    const f = refused((d) => d.apps.ffl!.setIn(["components", "backend", "probes", "liveness"], { path: "health" }), {
      file: "definition/apps/ffl.yaml",
      field: "components.backend.probes.liveness.path",
      needle: "liveness: { path: health }",
    });
    assert.equal(f.message, "must be an absolute URL path such as /api/health, without spaces");
  });

  it("says a value of no form is none of them", () => {
    const f = refused((d) => d.apps.ffl!.setIn(["components", "frontend", "talksTo", 0], 42), { file: "definition/apps/ffl.yaml", field: "components.frontend.talksTo[0]", needle: "42" });
    assert.equal(f.message, "is none of the forms this field takes");
    assert.equal(f.fix, "write components.frontend.talksTo[0] in one of its forms (definition/.schema/ has them for editors)");
  });
});

describe("found by the generative test", () => {
  // Seed 202: gitops.path "1e3" loaded, then the tree writer threw a plain Error (an internal error, exit 70).
  it("refuses a Flux path outside clusters/, which bk synth owns", () => {
    for (const value of ["1e3", "clusters", "clusters/minikube/", "clusters/../apps"]) {
      const f = refused((d) => d.cluster.setIn(["gitops", "path"], value), { file: CLUSTER, field: "gitops.path", needle: "path: " });
      assert.equal(f.message, "a folder under clusters/, such as clusters/minikube");
    }
  });
});
