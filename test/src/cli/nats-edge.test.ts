/**
 * The CLI and the service bins at the edge of NATS: malformed URLs are usage errors naming the
 * flag and the value (issue 10: `--nats ''` said "at : "). No NATS is needed for these.
 */
import { wasmesh } from './run-cli.js';

describe('malformed NATS URLs', () => {
  test.each([
    ['', /--nats \(env WASMESH_NATS_URL\) is empty/],
    [' , ', /--nats \(env WASMESH_NATS_URL\) is empty/],
    ['http://x', /"http:\/\/x" is not a NATS server URL: the scheme "http:\/\/"/],
    ['nats://', /"nats:\/\/" is not a NATS server URL: it names no host/],
    ['nats://host:99999', /"nats:\/\/host:99999" is not a NATS server URL: the port "99999" is not in 1\.\.65535/],
    ['not a url', /"not a url" is not a NATS server URL/],
    ['nats://h:4222/path', /no path/],
  ])('--nats %j is a usage error naming the flag and the value', async (url, message) => {
    const res = await wasmesh(['get', 'hosts', '--nats', url]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^wasmesh: WASMESH_ERR_USAGE: /);
    expect(res.stderr).toMatch(message);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('WASMESH_NATS_URL is checked as the flag is, and a password in it is never shown', async () => {
    const res = await wasmesh(['call', 'echo', 'Echo', '--json'], { WASMESH_NATS_URL: 'http://user:s3cret@x' });
    expect(res.code).toBe(2);
    const out = JSON.parse(res.stdout) as { ok: boolean; error: { code: string; message: string; value: string } };
    expect(out.error.code).toBe('WASMESH_ERR_USAGE');
    expect(out.error.message).toContain('WASMESH_NATS_URL');
    expect(res.stdout).not.toContain('s3cret');
  });

  test('the host bin checks its --nats the same way', async () => {
    const res = await wasmesh(['host', '--nats', '']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^wasmesh: WASMESH_ERR_USAGE: --nats \(env WASMESH_NATS_URL\) is empty/);
  });
});
