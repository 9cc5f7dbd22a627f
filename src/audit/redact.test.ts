import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRedactor } from './redact.ts';

const r = createRedactor({ literals: ['hunter2-corp-literal'] });

// Fake secrets of the right shapes, assembled so the source itself holds no real-looking token.
const ghp = 'ghp_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
const pat = 'github_pat_' + '11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz';
const ant = 'sk-ant-' + 'api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789';
const oai = 'sk-proj-' + 'AbCdEfGhIjKlMnOpQrStUvWx';
const akid = 'AKIA' + 'IOSFODNN7EXAMPLE';
const jwt = 'eyJhbGciOiJIUzI1NiJ9' + '.eyJzdWIiOiIxMjM0NTY3ODkwIn0' + '.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
const sha = 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3';
const basic = Buffer.from('deploy:s3cret-pass').toString('base64');
const glpat = 'glpat-' + 'AbCdEfGhIjKlMnOpQrSt';
const slack = 'xoxb-' + '123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx';
const stripe = 'sk_live_' + '51H8xYzAbCdEfGhIjKlMnOpQr';
const google = 'AIza' + 'SyA-1234567890abcdefghijklmnopqrstu';
const npm = 'npm_' + 'abcdefghijklmnopqrstuvwxyz0123456789';
const hf = 'hf_' + 'AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh';

const cases: Array<[string, string, string]> = [
  ['github token in export', `export GITHUB_TOKEN=${ghp}`, 'export GITHUB_TOKEN=[REDACTED:github_token]'],
  ['fine-grained github pat', `git clone https://x:${pat}@github.com/a/b`, 'git clone https://x:[REDACTED:github_token]@github.com/a/b'],
  ['anthropic key', `ANTHROPIC_API_KEY=${ant} claude`, 'ANTHROPIC_API_KEY=[REDACTED:anthropic_key] claude'],
  ['openai key', `key is ${oai}`, 'key is [REDACTED:openai_key]'],
  ['aws access key id', `aws_access_key_id = ${akid}`, 'aws_access_key_id = [REDACTED:aws_access_key_id]'],
  ['aws secret', 'aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'aws_secret_access_key=[REDACTED:aws_secret_access_key]'],
  ['bearer', 'Authorization: Bearer abc.def-ghi_jkl', 'Authorization: Bearer [REDACTED:bearer_token]'],
  ['jwt', `cookie=${jwt}`, 'cookie=[REDACTED:jwt]'],
  ['40-hex (git sha too, by design)', `checkout ${sha}`, 'checkout [REDACTED:hex_secret]'],
  ['password assignment', 'mysql --password=s3cr3t!x', 'mysql --password=[REDACTED:secret_assignment]'],
  ['api_key in query', 'GET /v1?api_key=abc123def&x=1', 'GET /v1?api_key=[REDACTED:secret_assignment]&x=1'],
  ['basic auth header', `curl -H "Authorization: Basic ${basic}" https://x`, 'curl -H "Authorization: Basic [REDACTED:basic_auth]" https://x'],
  ['"Basic" in prose untouched', 'Basic usage: run km create', 'Basic usage: run km create'],
  ['gitlab token', `git clone https://oauth2:${glpat}@gitlab.com/a/b.git`, 'git clone https://oauth2:[REDACTED:gitlab_token]@gitlab.com/a/b.git'],
  ['password in a URL', 'export DATABASE_URL=postgres://app:Sup3rS3cret@db:5432/app', 'export DATABASE_URL=postgres://app:[REDACTED:url_password]@db:5432/app'],
  ['URL with a port untouched', 'curl http://localhost:8080/health', 'curl http://localhost:8080/health'],
  ['slack token', `SLACK=${slack}`, 'SLACK=[REDACTED:slack_token]'],
  ['stripe key', `stripe ${stripe}`, 'stripe [REDACTED:stripe_key]'],
  ['google api key', `GOOGLE=${google}`, 'GOOGLE=[REDACTED:google_api_key]'],
  ['npm token', `npm config set //registry.npmjs.org/:_authToken ${npm}`, 'npm config set //registry.npmjs.org/:_authToken [REDACTED:npm_token]'],
  ['hugging face token', `HF=${hf}`, 'HF=[REDACTED:huggingface_token]'],
  ['x-api-key header', 'x-api-key: abcdef1234567890', 'x-api-key: [REDACTED:secret_assignment]'],
  ['azure account key', 'AccountName=x;AccountKey=abcdEFGH1234abcd==;EndpointSuffix=core', 'AccountName=x;AccountKey=[REDACTED:secret_assignment];EndpointSuffix=core'],
  ['operator literal', 'echo hunter2-corp-literal', 'echo [REDACTED:literal]'],
  ['ordinary text untouched', 'ls -la /workspace && npm test', 'ls -la /workspace && npm test'],
  ['short hex untouched', 'commit abc1234', 'commit abc1234'],
];

test('redaction table', () => {
  for (const [name, input, expected] of cases) assert.equal(r.redactString(input), expected, name);
});

test('PEM private key blocks are removed whole', () => {
  const pem = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIOc0\nAwEHoUQDQgAE\n-----END EC PRIVATE KEY-----';
  const out = r.redactString(`key:\n${pem}\nafter`);
  assert.equal(out, 'key:\n[REDACTED:private_key]\nafter');
});

test('events: detail redacted recursively, envelope fields never altered', () => {
  const event = {
    timestamp: '2027-03-03T08:15:02Z',
    sandbox_id: sha, // secret-shaped on purpose: envelope fields must pass through verbatim
    event_type: 'command',
    source: 'shell',
    detail: { argv: ['curl', '-H', `Authorization: Bearer ${ghp}`], env: { TOKEN: ant }, nested: [{ s: sha }], n: 3, ok: true },
  };
  const out = r.redactEvent(event);
  assert.equal(out.sandbox_id, event.sandbox_id);
  assert.equal(out.timestamp, event.timestamp);
  assert.equal(out.event_type, 'command');
  assert.equal(out.source, 'shell');
  const text = JSON.stringify(out.detail);
  for (const secret of [ghp, ant, sha]) assert.ok(!text.includes(secret), `leaked ${secret.slice(0, 6)}`);
  assert.equal(out.detail.n, 3);
  assert.equal(out.detail.ok, true);
  assert.ok(JSON.stringify(event.detail).includes(ghp), 'input not mutated');
});

test('redaction is idempotent', () => {
  for (const [, input] of cases) {
    const once = r.redactString(input);
    assert.equal(r.redactString(once), once);
  }
});
