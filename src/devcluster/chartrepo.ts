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
  /** `helm package` the chart in `chartDir` into the repo and re-index it; returns the .tgz path. */
  pushChart(chartDir: string): Promise<string>;
  close(): Promise<void>;
}

export async function startChartRepo(dir: string, port: number, helm: string): Promise<ChartRepo> {
  await mkdir(dir, { recursive: true });
  const url = `http://127.0.0.1:${port}`;
  const server = http.createServer((req, res) => {
    void (async () => {
      const name = decodeURIComponent(new URL(req.url ?? "/", url).pathname).replace(/^\/+/, "");
      // Flat repo: only index.yaml and top-level chart archives exist; refuse anything with a path.
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405).end();
        return;
      }
      if (!/^[A-Za-z0-9._+-]+$/.test(name) || !(name === "index.yaml" || name.endsWith(".tgz"))) {
        res.writeHead(404).end(`not found: /${name}`);
        return;
      }
      const file = path.join(dir, name);
      const st = await stat(file).catch(() => undefined);
      if (!st?.isFile()) {
        res.writeHead(404).end(`not found: /${name}`);
        return;
      }
      res.writeHead(200, {
        "content-type": name.endsWith(".yaml") ? "application/x-yaml" : "application/gzip",
        "content-length": st.size,
      });
      if (req.method === "HEAD") res.end();
      else createReadStream(file).pipe(res);
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
    async pushChart(chartDir) {
      const out = (await run(helm, ["package", chartDir, "--destination", dir])).stdout;
      const tgz = /saved it to: (.+\.tgz)/.exec(out)?.[1]?.trim();
      if (!tgz) throw new Error(`helm package ${chartDir}: could not find the archive path in its output: ${out}`);
      await run(helm, ["repo", "index", dir, "--url", url]);
      return tgz;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
