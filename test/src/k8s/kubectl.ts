/**
 * kubectl helpers for the Kubernetes tests: a command that must succeed, `get -o json` parsed, a
 * fresh namespace per test, and where the repository's deploy/ files are. Shared so each test file
 * does not grow its own copy.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeCluster } from '../harness/kube.js';

/** The repository root (tests run from test/dist/k8s). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The parts of kubectl's JSON output the tests read. */
export interface KubeObject {
  metadata: { name: string; uid: string; generation?: number; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  items: KubeObject[];
}

/** kubectl on `cluster` that must succeed: its stdout (the error names the command and its stderr). */
export async function kubectlOk(cluster: KubeCluster, args: string[], input?: string): Promise<string> {
  const result = await cluster.kubectl(args, input === undefined ? {} : { input });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (exit ${result.code}): ${result.stderr}`);
  return result.stdout;
}

/** `kubectl get … -o json`, parsed. */
export async function getJson(cluster: KubeCluster, args: string[]): Promise<KubeObject> {
  return JSON.parse(await kubectlOk(cluster, ['get', ...args, '-o', 'json'])) as KubeObject;
}

let namespaces = 0;

/** A fresh namespace (one per test), named `prefix` and a counter. */
export async function newNamespace(cluster: KubeCluster, prefix = 't'): Promise<string> {
  const name = `${prefix}${++namespaces}`;
  await kubectlOk(cluster, ['create', 'namespace', name]);
  return name;
}
