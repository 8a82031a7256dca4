/**
 * The outgoing-HTTP allow-list of an actor's config (`allowed_outbound_hosts`): which entries
 * admit which scheme and authority. Components' outgoing requests are checked with it on a real
 * lattice in providers/component-keyvalue.test.ts.
 */
import { contracts } from '@wasmesh/proto';
import { allowsOutbound, answerActorConfig, OUTGOING_HTTP_CAPABILITY } from '@wasmesh/host';

test.each([
  // entry, scheme, authority, allowed
  ['api.example.com', 'https', 'api.example.com', true],
  ['api.example.com', 'http', 'api.example.com', true],
  ['api.example.com', 'https', 'api.example.com:8443', false],
  ['api.example.com:8443', 'https', 'api.example.com:8443', true],
  ['api.example.com:*', 'http', 'api.example.com:9000', true],
  ['API.example.com', 'https', 'api.EXAMPLE.com', true],
  ['api.example.com', 'https', 'evil.com', false],
  ['api.example.com', 'https', 'api.example.com.evil.com', false],
  ['*.example.com', 'https', 'api.example.com', true],
  ['*.example.com', 'https', 'example.com', false],
  ['*.example.com', 'https', 'deep.api.example.com', true],
  ['*.example.com', 'https', 'badexample.com', false],
  ['https://api.example.com', 'https', 'api.example.com', true],
  ['https://api.example.com', 'http', 'api.example.com', false],
  ['https://api.example.com/', 'https', 'api.example.com', true],
  ['127.0.0.1:8080', 'http', '127.0.0.1:8080', true],
  ['127.0.0.1:8080', 'http', '127.0.0.1:8081', false],
  ['[::1]:8080', 'http', '[::1]:8080', true],
  ['*', 'http', 'anything.at.all:1234', true],
  ['http://*', 'https', 'anything', false],
])('%s admits %s://%s: %s', (entry, scheme, authority, allowed) => {
  expect(allowsOutbound(entry, scheme, authority)).toBe(allowed);
});

describe('the host answers whether an actor may send an outgoing request', () => {
  const check = async (config: Record<string, string>, caps: readonly string[] | undefined) => {
    const payload = contracts.CheckOutgoingRequest.encode({ scheme: 'https', authority: 'api.example.com' }).finish();
    const answer = await answerActorConfig('fetcher', 'ActorConfig.CheckOutgoing', payload, async () => config, caps);
    return contracts.CheckOutgoingResponse.decode(answer);
  };
  const listed = { allowed_outbound_hosts: 'cdn.example.com, https://api.example.com' };

  test('an unsigned actor: the allow-list decides', async () => {
    expect(await check(listed, undefined)).toMatchObject({ allowed: true });
    expect(await check({ allowed_outbound_hosts: 'cdn.example.com' }, undefined)).toMatchObject({
      allowed: false,
      reason: 'allowed_outbound_hosts (cdn.example.com) does not list api.example.com',
    });
    expect(await check({}, undefined)).toMatchObject({
      allowed: false,
      reason: expect.stringContaining(
        'has no allowed_outbound_hosts (give it one, e.g. allowed_outbound_hosts=api.example.com)',
      ),
    });
  });

  test('a signed actor needs the capability as well', async () => {
    expect(await check(listed, ['wasmesh:httpserver'])).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('do not grant wasi:http/outgoing-handler'),
    });
    expect(await check(listed, ['wasmesh:httpserver', OUTGOING_HTTP_CAPABILITY])).toMatchObject({ allowed: true });
  });

  test('its config, and no operation it does not have', async () => {
    const all = await answerActorConfig('a', 'ActorConfig.GetAll', new Uint8Array(), async () => listed, undefined);
    expect(contracts.GetAllConfigResponse.decode(all).values).toEqual([
      { key: 'allowed_outbound_hosts', value: listed.allowed_outbound_hosts },
    ]);
    await expect(
      answerActorConfig('a', 'ActorConfig.Nope', new Uint8Array(), async () => ({}), undefined),
    ).rejects.toMatchObject({
      code: 'WASMESH_ERR_UNKNOWN_OPERATION',
    });
  });
});
