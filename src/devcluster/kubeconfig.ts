/** A self-contained kubeconfig (certs embedded) so it keeps working when copied out of the workdir. */
import { readFile, writeFile } from "node:fs/promises";
import { stringify } from "yaml";
import type { Pki } from "./pki.js";

export async function writeKubeconfig(file: string, server: string, pki: Pki, name = "beckerkube-dev"): Promise<void> {
  const b64 = async (f: string) => (await readFile(f)).toString("base64");
  const doc = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name, cluster: { server, "certificate-authority-data": await b64(pki.caCert) } }],
    users: [{ name: `${name}-admin`, user: { "client-certificate-data": await b64(pki.adminCert), "client-key-data": await b64(pki.adminKey) } }],
    contexts: [{ name, context: { cluster: name, user: `${name}-admin`, namespace: "default" } }],
    "current-context": name,
    preferences: {},
  };
  await writeFile(file, stringify(doc), { mode: 0o600 });
}
