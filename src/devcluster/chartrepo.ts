/**
 * A classic Helm chart repository on loopback: index.yaml plus packaged charts, served as static files.
 * ChartMuseum would do the same job but cannot be built here (the module proxy refuses helm.sh/chartmuseum,
 * see tools/README.md); Flux's HelmRepository only needs GET index.yaml and GET <chart>.tgz.
 * Charts are packaged and indexed with the real helm binary.
 */
import { createReadStream } from "node:fs";
import { mkdir, stat } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { run } from "./exec.js";

export interface ChartRepo {
  url: string;
  dir: string;
  /** `helm package` the chart in `chartDir` into the repo (or the named one) and re-index it; returns the .tgz path. */
  pushChart(chartDir: string, repo?: string): Promise<string>;
  /** The URL of a named repository beside the default one (`<url>/<name>`), one per upstream HelmRepository. */
  repoUrl(name: string): string;
  close(): Promise<void>;
}

const REPO_NAME = /^[a-z0-9][a-z0-9-]*$/;

export async function startChartRepo(dir: string, port: number, helm: string): Promise<ChartRepo> {
  await mkdir(dir, { recursive: true });
  const url = `http://127.0.0.1:${port}`;
  const server = http.createServer((req, res) => {
    void (async () => {
      const name = decodeURIComponent(new URL(req.url ?? "/", url).pathname).replace(/^\/+/, "");
      // Flat repos: index.yaml and chart archives at the top or one named repository down; nothing else.
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405).end();
        return;
      }
      const file = /^(?:[a-z0-9][a-z0-9-]*\/)?([A-Za-z0-9._+-]+)$/.exec(name)?.[1];
      if (!file || file.startsWith(".") || !(file === "index.yaml" || file.endsWith(".tgz"))) {
        res.writeHead(404).end(`not found: /${name}`);
        return;
      }
      const filePath = path.join(dir, name);
      const st = await stat(filePath).catch(() => undefined);
      if (!st?.isFile()) {
        res.writeHead(404).end(`not found: /${name}`);
        return;
      }
      res.writeHead(200, {
        "content-type": name.endsWith(".yaml") ? "application/x-yaml" : "application/gzip",
        "content-length": st.size,
      });
      if (req.method === "HEAD") res.end();
      else createReadStream(filePath).pipe(res);
    })().catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(err.message);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  server.unref();
  return {
    url,
    dir,
    async pushChart(chartDir, repo) {
      if (repo !== undefined && !REPO_NAME.test(repo)) throw new Error(`chart repo: bad repository name "${repo}" (lowercase letters, digits, -)`);
      const target = repo ? path.join(dir, repo) : dir;
      await mkdir(target, { recursive: true });
      const out = (await run(helm, ["package", chartDir, "--destination", target])).stdout;
      const tgz = /saved it to: (.+\.tgz)/.exec(out)?.[1]?.trim();
      if (!tgz) throw new Error(`helm package ${chartDir}: could not find the archive path in its output: ${out}`);
      await run(helm, ["repo", "index", target, "--url", repo ? `${url}/${repo}` : url]);
      return tgz;
    },
    repoUrl: (name) => `${url}/${name}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
