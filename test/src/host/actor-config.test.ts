/**
 * The outgoing-HTTP allow-list of an actor's config (`allowed_outbound_hosts`): which entries
 * admit which scheme and authority. Components' outgoing requests are checked with it on a real
 * lattice in providers/component-keyvalue.test.ts.
 */
import { allowsOutbound } from '@wasmesh/host';

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
