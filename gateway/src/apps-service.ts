/**
 * `wasmesh.lattice.v1.Apps` (gateway.proto) over gRPC: the app store of `@wasmesh/apps`, as
 * `wasmesh app …` uses it. Manifests arrive as text and are validated here (INVALID_ARGUMENT lists
 * every problem); actor images given as paths are read from the gateway's file system, only inside
 * its allowed directories (`--allow-dir`; none by default, so images must be `sha256:` references).
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { AppStore, loadManifest, resolveImages } from '@wasmesh/apps';
import type { lattice } from '@wasmesh/proto';
import { required, unary, type CallContext } from './calls.js';
import type { ServiceDeps } from './deps.js';

/** The Apps service implementation over `deps.client`. */
export function appsService(deps: ServiceDeps): UntypedServiceImplementation {
  const { client, pre, logger, jail } = deps;
  const u = <Req, Res>(name: string, fn: (req: Req, ctx: CallContext) => Promise<Res>) =>
    unary<Req, Res>(`Apps.${name}`, pre, logger, fn);
  let store: Promise<AppStore> | undefined;
  const apps = (): Promise<AppStore> => (store ??= AppStore.open(client.nc, client.subjects));
  const name = (req: lattice.IAppRequest): string => required('AppRequest', req, 'name').name!;
  return {
    PutApp: u<lattice.IPutAppRequest, lattice.IPutAppResponse>('PutApp', async (req) => {
      const { manifest: text } = required('PutAppRequest', req, 'manifest');
      const objects = await client.objects();
      const manifest = await resolveImages(
        loadManifest(text!, { source: 'PutAppRequest.manifest' }),
        process.cwd(),
        (b, d) => objects.pushArtifact(b, d),
        (file, what) => jail.readFile(file, what),
      );
      const { created } = await (await apps()).put(manifest);
      return { name: manifest.name, version: manifest.version, created };
    }),
    DeployApp: u<lattice.IDeployAppRequest, lattice.IDeployAppResponse>('DeployApp', async (req) => {
      const { name: app } = required('DeployAppRequest', req, 'name');
      return (await apps()).deploy(app!, req.version || undefined);
    }),
    UndeployApp: u<lattice.IAppRequest, lattice.IAck>('UndeployApp', async (req) => {
      const { changed } = await (await apps()).undeploy(name(req));
      return { message: changed ? `app ${req.name} undeploying` : `app ${req.name} was not deployed` };
    }),
    DeleteApp: u<lattice.IAppRequest, lattice.IAck>('DeleteApp', async (req) => {
      await (await apps()).delete(name(req));
      return { message: `app ${req.name} deleted` };
    }),
    ListApps: u<lattice.IListAppsRequest, lattice.IListAppsResponse>('ListApps', async () => ({
      apps: await (await apps()).list(),
    })),
    GetAppStatus: u<lattice.IAppRequest, lattice.IAppStatus>('GetAppStatus', async (req) => {
      const store = await apps();
      const app = name(req);
      await store.record(app); // NOT_FOUND for an unknown app
      return (await store.status(app)) ?? { name: app };
    }),
    ListAppVersions: u<lattice.IAppRequest, lattice.IListAppVersionsResponse>('ListAppVersions', async (req) => {
      const record = await (await apps()).record(name(req));
      return {
        versions: (record.versions ?? []).map((v) => ({
          version: v.version,
          digest: v.digest,
          createdAtMs: v.createdAtMs,
          deployed: v.version === record.deployedVersion,
        })),
      };
    }),
  };
}
