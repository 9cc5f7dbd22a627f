import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDiagnostic } from '../core/diagnostics.ts';
import { createMemoryReader, resolveProfile, type Substrate } from './index.ts';

/**
 * SPEC §1.4, table-driven: each case is a profile fragment and the exact diagnostics
 * (file:line:col: path: message) it must produce — errors first, then warnings.
 */
interface RuleCase {
  name: string;
  /** YAML under `spec:` (indented two spaces). */
  spec?: string;
  /** A whole document instead. */
  doc?: string;
  substrate?: Substrate;
  expect: string[];
}

const HEAD = 'apiVersion: klankermaker.ai/v1alpha1\nkind: SandboxProfile\nmetadata:\n  name: t\nspec:\n';

const CASES: RuleCase[] = [
  {
    name: "wrong apiVersion",
    doc: "apiVersion: klankermaker.ai/v2\nkind: SandboxProfile\nmetadata: {name: x}\n",
    expect: [
      "t.yaml:1:13: apiVersion: unsupported \"klankermaker.ai/v2\"; this version of km reads klankermaker.ai/v1alpha1",
    ],
  },
  {
    name: "wrong kind",
    doc: "apiVersion: klankermaker.ai/v1alpha1\nkind: Pod\nmetadata: {name: x}\n",
    expect: [
      "t.yaml:2:7: kind: unsupported \"Pod\"; a profile has kind: SandboxProfile",
    ],
  },
  {
    name: "missing name",
    doc: "apiVersion: klankermaker.ai/v1alpha1\nkind: SandboxProfile\nmetadata: {prefix: ab}\n",
    expect: [
      "t.yaml:3:11: metadata.name: required; name the profile, or set metadata.abstract: true for a fragment that is only extended",
    ],
  },
  {
    name: "bad prefix",
    doc: "apiVersion: klankermaker.ai/v1alpha1\nkind: SandboxProfile\nmetadata: {name: x, prefix: Build-1}\n",
    expect: [
      "t.yaml:3:29: metadata.prefix: \"Build-1\" is not a valid prefix; use 1–12 lowercase letters and digits, starting with a letter",
    ],
  },
  {
    name: "bad name",
    doc: "apiVersion: klankermaker.ai/v1alpha1\nkind: SandboxProfile\nmetadata: {name: -x}\n",
    expect: [
      "t.yaml:3:18: metadata.name: \"-x\" is not a valid name; use 1–63 characters [A-Za-z0-9._-], starting with a letter or digit",
    ],
  },
  {
    name: "unknown key with did-you-mean",
    spec: "  lifecylce:\n    ttl: 1h\n",
    expect: [
      "t.yaml:6:3: spec.lifecylce: unknown key \"lifecylce\"; did you mean \"lifecycle\"?",
    ],
  },
  {
    name: "unknown nested key without a close match",
    spec: "  runtime:\n    flavour: big\n",
    expect: [
      "t.yaml:7:5: spec.runtime.flavour: unknown key \"flavour\"",
    ],
  },
  {
    name: "bad duration",
    spec: "  lifecycle:\n    idleTimeout: 90x\n",
    expect: [
      "t.yaml:7:18: spec.lifecycle.idleTimeout: invalid duration \"90x\": use forms like 45m, 2h30m, 1d",
    ],
  },
  {
    name: "duration units out of order",
    spec: "  lifecycle:\n    ttl: 30m2h\n",
    expect: [
      "t.yaml:7:10: spec.lifecycle.ttl: invalid duration \"30m2h\": use forms like 45m, 2h30m, 1d",
    ],
  },
  {
    name: "unquoted number duration",
    spec: "  lifecycle:\n    ttl: 0\n",
    expect: [
      "t.yaml:7:10: spec.lifecycle.ttl: expected a duration string such as \"8h\" (quote it: \"0\"), got number 0",
    ],
  },
  {
    name: "zero maxLifetime",
    spec: "  lifecycle:\n    maxLifetime: \"0\"\n",
    expect: [
      "t.yaml:7:18: spec.lifecycle.maxLifetime: invalid duration \"0\": 0 is not allowed here",
    ],
  },
  {
    name: "enum typo",
    spec: "  lifecycle:\n    teardownPolicy: destory\n",
    expect: [
      "t.yaml:7:21: spec.lifecycle.teardownPolicy: invalid value \"destory\"; expected one of destroy, stop, retain; did you mean \"destroy\"?",
    ],
  },
  {
    name: "string for a boolean",
    spec: "  network:\n    httpsOnly: \"true\"\n",
    expect: [
      "t.yaml:7:16: spec.network.httpsOnly: expected true or false, got the string \"true\"; remove the quotes",
    ],
  },
  {
    name: "string for a number",
    spec: "  runtime:\n    rootVolumeSize: \"20\"\n",
    expect: [
      "t.yaml:7:21: spec.runtime.rootVolumeSize: expected a number, got the string \"20\"",
    ],
  },
  {
    name: "negative rootVolumeSize",
    spec: "  runtime:\n    rootVolumeSize: -1\n",
    expect: [
      "t.yaml:7:21: spec.runtime.rootVolumeSize: rootVolumeSize must be 0 (image default) or more GiB",
    ],
  },
  {
    name: "fractional rootVolumeSize",
    spec: "  runtime:\n    rootVolumeSize: 1.5\n",
    expect: [
      "t.yaml:7:21: spec.runtime.rootVolumeSize: expected an integer, got number 1.5",
    ],
  },
  {
    name: "additionalVolume size 0",
    spec: "  runtime:\n    additionalVolume: {size: 0, mountPoint: /data}\n",
    expect: [
      "t.yaml:7:30: spec.runtime.additionalVolume.size: size must be at least 1 (GiB)",
    ],
  },
  {
    name: "bad region",
    spec: "  runtime:\n    region: useast1\n",
    expect: [
      "t.yaml:7:13: spec.runtime.region: \"useast1\" is not an AWS region name (such as us-east-1)",
    ],
  },
  {
    name: "relative workingDir",
    spec: "  execution:\n    workingDir: workspace\n",
    expect: [
      "t.yaml:7:17: spec.execution.workingDir: \"workspace\" is not an absolute path; start it with \"/\"",
    ],
  },
  {
    name: ".. in shell",
    spec: "  execution:\n    shell: /bin/../bash\n",
    expect: [
      "t.yaml:7:12: spec.execution.shell: \"/bin/../bash\" contains \"..\"; write the path without parent segments",
    ],
  },
  {
    name: "bad env key",
    spec: "  execution:\n    env:\n      1ABC: x\n",
    expect: [
      "t.yaml:8:7: spec.execution.env.1ABC: \"1ABC\" is not a valid variable name; use letters, digits and \"_\", not starting with a digit",
    ],
  },
  {
    name: "reserved env KM_",
    spec: "  execution:\n    env:\n      KM_SANDBOX_ID: x\n",
    expect: [
      "t.yaml:8:7: spec.execution.env.KM_SANDBOX_ID: KM_SANDBOX_ID is reserved: km sets KM_* variables itself; remove it from execution.env",
    ],
  },
  {
    name: "reserved env proxy (any case)",
    spec: "  execution:\n    env:\n      https_proxy: x\n",
    expect: [
      "t.yaml:8:7: spec.execution.env.https_proxy: https_proxy is reserved: km points the proxy variables at the sandbox gateway; remove it from execution.env",
    ],
  },
  {
    name: "reserved env CA",
    spec: "  execution:\n    env:\n      NODE_EXTRA_CA_CERTS: /x\n",
    expect: [
      "t.yaml:8:7: spec.execution.env.NODE_EXTRA_CA_CERTS: NODE_EXTRA_CA_CERTS is reserved: km sets it for the sandbox's CA and telemetry; remove it from execution.env",
    ],
  },
  {
    name: "reserved env OTEL endpoint",
    spec: "  execution:\n    env:\n      OTEL_EXPORTER_OTLP_ENDPOINT: http://x\n",
    expect: [
      "t.yaml:8:7: spec.execution.env.OTEL_EXPORTER_OTLP_ENDPOINT: OTEL_EXPORTER_OTLP_ENDPOINT is reserved: km sets it for the sandbox's CA and telemetry; remove it from execution.env",
    ],
  },
  {
    name: "configFiles relative key",
    spec: "  execution:\n    configFiles:\n      etc/motd: hi\n",
    expect: [
      "t.yaml:8:7: spec.execution.configFiles.etc/motd: \"etc/motd\" is not an absolute path; start it with \"/\"",
    ],
  },
  {
    name: "configFiles .. key",
    spec: "  execution:\n    configFiles:\n      /etc/../root/x: hi\n",
    expect: [
      "t.yaml:8:7: spec.execution.configFiles./etc/../root/x: \"/etc/../root/x\" contains \"..\"; write the path without parent segments",
    ],
  },
  {
    name: "bad email alias",
    spec: "  email:\n    alias: Build\n",
    expect: [
      "t.yaml:7:12: spec.email.alias: \"Build\" is not an alias; use dotted lowercase words such as build.web",
    ],
  },
  {
    name: "ttl shorter than idleTimeout",
    spec: "  lifecycle:\n    ttl: 30m\n    idleTimeout: 1h\n",
    expect: [
      "t.yaml:7:10: spec.lifecycle.ttl: ttl (30m) is shorter than idleTimeout (1h); raise ttl or lower idleTimeout",
    ],
  },
  {
    name: "ttl 0 with idleTimeout is fine",
    spec: "  lifecycle:\n    ttl: \"0\"\n    idleTimeout: 1h\n",
    expect: [],
  },
  {
    name: "maxLifetime shorter than ttl",
    spec: "  lifecycle:\n    ttl: 8h\n    maxLifetime: 2h\n",
    expect: [
      "t.yaml:8:18: spec.lifecycle.maxLifetime: maxLifetime (2h) is shorter than ttl (8h); raise maxLifetime or lower ttl",
    ],
  },
  {
    name: "maxSpendUSD 0",
    spec: "  budget:\n    ai: {maxSpendUSD: 0}\n",
    expect: [
      "t.yaml:7:23: spec.budget.ai.maxSpendUSD: use a positive amount, or remove budget.ai to leave AI spend unlimited",
    ],
  },
  {
    name: "negative compute maxSpendUSD",
    spec: "  budget:\n    compute: {maxSpendUSD: -1}\n",
    expect: [
      "t.yaml:7:28: spec.budget.compute.maxSpendUSD: use a positive amount, or remove budget.compute to leave compute spend unlimited",
    ],
  },
  {
    name: "warningThreshold above 1",
    spec: "  budget:\n    warningThreshold: 1.5\n",
    expect: [
      "t.yaml:7:23: spec.budget.warningThreshold: warningThreshold must be in (0, 1]",
    ],
  },
  {
    name: "warningThreshold 0",
    spec: "  budget:\n    warningThreshold: 0\n",
    expect: [
      "t.yaml:7:23: spec.budget.warningThreshold: warningThreshold must be in (0, 1]",
    ],
  },
  {
    name: "empty egress entry",
    spec: "  network:\n    egress:\n      allowedHosts: [\"\"]\n",
    expect: [
      "t.yaml:8:22: spec.network.egress.allowedHosts[0]: empty entry; write a host name or remove the entry",
    ],
  },
  {
    name: "scheme in egress entry",
    spec: "  network:\n    egress:\n      allowedHosts: [\"https://api.example.com\"]\n",
    expect: [
      "t.yaml:8:22: spec.network.egress.allowedHosts[0]: \"https://api.example.com\" is not a valid host pattern; write the host name only (\"api.example.com\")",
    ],
  },
  {
    name: "path in egress entry",
    spec: "  network:\n    egress:\n      allowedHosts: [example.com/api]\n",
    expect: [
      "t.yaml:8:22: spec.network.egress.allowedHosts[0]: \"example.com/api\" is not a valid host pattern; write the host only (\"example.com\"), paths belong in pathRules",
    ],
  },
  {
    name: "query in egress entry",
    spec: "  network:\n    egress:\n      allowedHosts: [\"example.com?x=1\"]\n",
    expect: [
      "t.yaml:8:22: spec.network.egress.allowedHosts[0]: \"example.com?x=1\" is not a valid host pattern; write the host only (\"example.com\"), paths belong in pathRules",
    ],
  },
  {
    name: "*.domain wildcard",
    spec: "  network:\n    egress:\n      allowedDNSSuffixes: [\"*.github.com\"]\n",
    expect: [
      "t.yaml:8:28: spec.network.egress.allowedDNSSuffixes[0]: \"*.github.com\" is not a valid host pattern; write \".github.com\" for the domain and its subdomains",
    ],
  },
  {
    name: "inner wildcard",
    spec: "  network:\n    egress:\n      allowedHosts: [\"api*.example.com\"]\n",
    expect: [
      "t.yaml:8:22: spec.network.egress.allowedHosts[0]: \"api*.example.com\" is not a valid host pattern; wildcards are a lone \"*\" or a leading dot (\".example.com\")",
    ],
  },
  {
    name: "ICANN public suffix .com",
    spec: "  network:\n    egress:\n      allowedDNSSuffixes: [.com]\n",
    expect: [
      "t.yaml:8:28: spec.network.egress.allowedDNSSuffixes[0]: \".com\" is a public suffix; it would allow every domain under it, list the specific domains instead",
    ],
  },
  {
    name: "ICANN public suffix .co.uk",
    spec: "  network:\n    egress:\n      allowedHosts: [.co.uk]\n",
    expect: [
      "t.yaml:8:22: spec.network.egress.allowedHosts[0]: \".co.uk\" is a public suffix; it would allow every domain under it, list the specific domains instead",
    ],
  },
  {
    name: "private-section suffixes are fine",
    spec: "  network:\n    egress:\n      allowedDNSSuffixes: [.githubusercontent.com, .s3.amazonaws.com, .github.io]\n",
    expect: [],
  },
  {
    name: "invalid port",
    spec: "  network:\n    egress:\n      allowedHosts: [\"example.com:70000\"]\n",
    expect: [
      "t.yaml:8:22: spec.network.egress.allowedHosts[0]: invalid port \"70000\" in \"example.com:70000\"; use a number from 1 to 65535",
    ],
  },
  {
    name: "port in a suffix",
    spec: "  network:\n    egress:\n      allowedDNSSuffixes: [\".example.com:8443\"]\n",
    expect: [
      "t.yaml:8:28: spec.network.egress.allowedDNSSuffixes[0]: \".example.com:8443\": allowedDNSSuffixes entries take no port; put \"host:port\" in allowedHosts",
    ],
  },
  {
    name: "valid hosts with ports and IPs",
    spec: "  network:\n    egress:\n      allowedHosts: [\"example.com:8443\", \"10.0.0.5\", \"[::1]:8080\", \".corp.example:443\", \"bücher.example\"]\n",
    expect: [],
  },
  {
    name: "pathRules host not allowed",
    spec: "  network:\n    egress:\n      allowedHosts: [api.example.com]\n      pathRules:\n        - host: other.example.com\n          allow: [\"GET /v1/*\"]\n",
    expect: [
      "t.yaml:10:17: spec.network.egress.pathRules[0].host: \"other.example.com\" is not allowed by allowedHosts or allowedDNSSuffixes; pathRules only narrow a host that is allowed",
    ],
  },
  {
    name: "pathRules host allowed by suffix",
    spec: "  network:\n    egress:\n      allowedDNSSuffixes: [.example.com]\n      pathRules:\n        - host: api.example.com\n          allow: [\"GET /v1/*\", \"* /health\"]\n",
    expect: [],
  },
  {
    name: "pathRules host allowed as a GitHub host",
    spec: "  network:\n    egress:\n      pathRules:\n        - host: api.github.com\n          allow: [\"GET /repos/*\"]\n  sourceAccess:\n    github:\n      allowedRepos: [acme/api]\n",
    expect: [],
  },
  {
    name: "pathRules bad method",
    spec: "  network:\n    egress:\n      allowedHosts: [api.example.com]\n      pathRules:\n        - host: api.example.com\n          allow: [\"FETCH /x\"]\n",
    expect: [
      "t.yaml:11:19: spec.network.egress.pathRules[0].allow[0]: \"FETCH /x\": method \"FETCH\" is not one of GET HEAD POST PUT PATCH DELETE OPTIONS *",
    ],
  },
  {
    name: "pathRules path without slash",
    spec: "  network:\n    egress:\n      allowedHosts: [api.example.com]\n      pathRules:\n        - host: api.example.com\n          allow: [\"GET v1\"]\n",
    expect: [
      "t.yaml:11:19: spec.network.egress.pathRules[0].allow[0]: \"GET v1\": the path must start with \"/\"",
    ],
  },
  {
    name: "bad repo patterns",
    spec: "  sourceAccess:\n    github:\n      allowedRepos: [acme, acme/api/x, \"https://github.com/acme/api\", \"*/api\", github.com/acme/*, \"*\"]\n",
    expect: [
      "t.yaml:8:22: spec.sourceAccess.github.allowedRepos[0]: \"acme\" is not a repository pattern; use owner/repo, owner/* or *",
      "t.yaml:8:28: spec.sourceAccess.github.allowedRepos[1]: \"acme/api/x\" is not a repository pattern; use owner/repo, owner/* or *",
      "t.yaml:8:40: spec.sourceAccess.github.allowedRepos[2]: \"https://github.com/acme/api\" is not a repository pattern; use owner/repo, owner/* or *",
      "t.yaml:8:71: spec.sourceAccess.github.allowedRepos[3]: \"*/api\" is not a repository pattern; use owner/repo, owner/* or *",
    ],
  },
  {
    name: "bad ref patterns",
    spec: "  sourceAccess:\n    github:\n      allowedRefs: [\"\", \"feature x\", \"a..b\", \"v1~2\", \"refs/heads/\\u0001\", \"refs/tags/v*\", \"release/[0-9]*\"]\n",
    expect: [
      "t.yaml:8:21: spec.sourceAccess.github.allowedRefs[0]: empty ref pattern; write a branch name or glob such as \"feature/*\"",
      "t.yaml:8:25: spec.sourceAccess.github.allowedRefs[1]: \"feature x\" contains spaces or control characters; git refs cannot",
      "t.yaml:8:38: spec.sourceAccess.github.allowedRefs[2]: \"a..b\" contains \"..\"; git refs cannot",
      "t.yaml:8:46: spec.sourceAccess.github.allowedRefs[3]: \"v1~2\" contains \"~\"; git refs cannot",
      "t.yaml:8:54: spec.sourceAccess.github.allowedRefs[4]: \"refs/heads/\\u0001\" contains spaces or control characters; git refs cannot",
    ],
  },
  {
    name: "reserved mount point",
    spec: "  runtime:\n    additionalVolume: {size: 5, mountPoint: /etc}\n",
    expect: [
      "t.yaml:7:45: spec.runtime.additionalVolume.mountPoint: /etc is reserved; choose another mount point such as /data",
    ],
  },
  {
    name: "equal mount points",
    spec: "  runtime:\n    mountEFS: true\n    efsMountPoint: /data\n    additionalVolume: {size: 5, mountPoint: /data/}\n",
    expect: [
      "t.yaml:9:45: spec.runtime.additionalVolume.mountPoint: /data is already the mount point of runtime.efsMountPoint",
    ],
  },
  {
    name: "efsMountPoint unused without mountEFS",
    spec: "  runtime:\n    efsMountPoint: /workspace\n",
    expect: [],
  },
  {
    name: "ec2 hibernation with spot",
    spec: "  runtime:\n    spot: true\n    hibernation: true\n",
    substrate: 'ec2',
    expect: [
      "t.yaml:8:18: spec.runtime.hibernation: hibernation cannot be combined with spot: true on ec2; turn one of them off",
    ],
  },
  {
    name: "ec2 hibernation root volume too small",
    spec: "  runtime:\n    instanceType: t3.large\n    hibernation: true\n    rootVolumeSize: 10\n",
    substrate: 'ec2',
    expect: [
      "t.yaml:9:21: spec.runtime.rootVolumeSize: 10 GiB is too small for hibernation on t3.large; it needs at least RAM + 8 GiB (16 GiB), or 0 for the image default",
    ],
  },
  {
    name: "ec2 hibernation root volume big enough",
    spec: "  runtime:\n    instanceType: t3.large\n    hibernation: true\n    rootVolumeSize: 16\n",
    substrate: 'ec2',
    expect: [],
  },
  {
    name: "ec2 ami not a slug or ID",
    spec: "  runtime:\n    ami: web-base\n",
    substrate: 'ec2',
    expect: [
      "t.yaml:7:10: spec.runtime.ami: \"web-base\" is not an AMI slug (amazon-linux-2023, ubuntu-24.04, ubuntu-22.04) or AMI ID (ami-…) as ec2 needs",
    ],
  },
  {
    name: "local spot warning",
    spec: "  runtime:\n    spot: true\n",
    expect: [
      "t.yaml:7:11: spec.runtime.spot: warning: has no effect on the local substrate",
    ],
  },
  {
    name: "local ami slug warning",
    spec: "  runtime:\n    ami: ubuntu-24.04\n",
    expect: [
      "t.yaml:7:10: spec.runtime.ami: warning: \"ubuntu-24.04\" is an AWS image slug; on the local substrate a local image of that name is used if one exists, else the host base",
    ],
  },
  {
    name: "local ami ID warning",
    spec: "  runtime:\n    ami: ami-0123456789abcdef0\n",
    expect: [
      "t.yaml:7:10: spec.runtime.ami: warning: \"ami-0123456789abcdef0\" is an AMI ID; ignored on the local substrate (the host base image is used)",
    ],
  },
  {
    name: "local ami bad image name",
    spec: "  runtime:\n    ami: Web_Base\n",
    expect: [
      "t.yaml:7:10: spec.runtime.ami: \"Web_Base\" is not a local image name ([a-z0-9][a-z0-9._-]{0,62}, see km image list)",
    ],
  },
  {
    name: "ecs warnings",
    spec: "  runtime:\n    hibernation: true\n    ami: ubuntu-24.04\n    additionalVolume: {size: 5, mountPoint: /data}\n  network:\n    enforcement: ebpf\n",
    substrate: 'ecs',
    expect: [
      "t.yaml:7:18: spec.runtime.hibernation: warning: ignored on ecs",
      "t.yaml:8:10: spec.runtime.ami: warning: ignored on ecs; the task image comes from the operator configuration",
      "t.yaml:9:23: spec.runtime.additionalVolume: warning: ignored on ecs",
      "t.yaml:11:18: spec.network.enforcement: warning: ebpf is not available on ecs; proxy enforcement only",
    ],
  },
  {
    name: "slack inbound without per-sandbox",
    spec: "  cli:\n    notifySlackEnabled: true\n    notifySlackInboundEnabled: true\n    notifySlackTranscriptEnabled: true\n",
    expect: [
      "t.yaml:8:32: spec.cli.notifySlackInboundEnabled: needs notifySlackPerSandbox: true (it uses the per-sandbox channel)",
      "t.yaml:9:35: spec.cli.notifySlackTranscriptEnabled: needs notifySlackPerSandbox: true (it uses the per-sandbox channel)",
    ],
  },
  {
    name: "slack channel override with per-sandbox",
    spec: "  cli:\n    notifySlackEnabled: true\n    notifySlackPerSandbox: true\n    notifySlackChannelOverride: C0123ABC\n",
    expect: [
      "t.yaml:9:33: spec.cli.notifySlackChannelOverride: cannot be combined with notifySlackPerSandbox: true; choose one",
    ],
  },
  {
    name: "slack per-sandbox without slack enabled",
    spec: "  cli:\n    notifySlackPerSandbox: true\n",
    expect: [
      "t.yaml:7:28: spec.cli.notifySlackPerSandbox: warning: has no effect without notifySlackEnabled: true",
    ],
  },
  {
    name: "bad slack channel",
    spec: "  cli:\n    notifySlackChannelOverride: general\n",
    expect: [
      "t.yaml:7:33: spec.cli.notifySlackChannelOverride: \"general\" is not a Slack channel ID (such as C0123ABCD)",
    ],
  },
  {
    name: "roleSessionDuration outside 15m-12h",
    spec: "  identity:\n    roleSessionDuration: 5m\n",
    expect: [
      "t.yaml:7:26: spec.identity.roleSessionDuration: 5m is outside 15m–12h",
    ],
  },
  {
    name: "* egress without learn mode",
    spec: "  network:\n    egress:\n      allowedHosts: [\"*\"]\n",
    expect: [
      "t.yaml:8:22: spec.network.egress.allowedHosts[0]: warning: \"*\" allows all egress",
    ],
  },
  {
    name: "* egress in learn mode",
    spec: "  network:\n    egress:\n      allowedHosts: [\"*\"]\n  observability:\n    learnMode: true\n",
    expect: [],
  },
  {
    name: "mode none with GitHub reachable",
    spec: "  network:\n    egress:\n      allowedDNSSuffixes: [.github.com]\n  sourceAccess:\n    mode: none\n",
    expect: [
      "t.yaml:10:11: spec.sourceAccess.mode: warning: mode is none while github.com is reachable (allowedDNSSuffixes[0]); any repository can be read and pushed",
    ],
  },
  {
    name: "allowGraphQL",
    spec: "  sourceAccess:\n    github:\n      allowedRepos: [acme/api]\n      allowGraphQL: true\n",
    expect: [
      "t.yaml:9:21: spec.sourceAccess.github.allowGraphQL: warning: GraphQL requests are not repo-scoped",
    ],
  },
  {
    name: "encryption while signing off",
    spec: "  email:\n    signing: \"off\"\n    encryption: optional\n",
    expect: [
      "t.yaml:8:17: spec.email.encryption: warning: encryption is optional while signing is off; encrypted mail is still unauthenticated",
    ],
  },
  {
    name: "capturePayloads without capture",
    spec: "  observability:\n    tlsCapture:\n      capturePayloads: true\n",
    expect: [
      "t.yaml:8:24: spec.observability.tlsCapture.capturePayloads: warning: has no effect without tlsCapture.enabled: true",
    ],
  },
];

for (const c of CASES) {
  test(`rule: ${c.name}`, () => {
    const text = c.doc ?? HEAD + (c.spec ?? '');
    const reader = createMemoryReader({ '/p/t.yaml': text });
    const r = resolveProfile('t.yaml', { cwd: '/p', searchPaths: [], reader, ...(c.substrate ? { substrate: c.substrate } : {}) });
    const got = [...(r.ok ? [] : r.errors), ...r.warnings].map(formatDiagnostic);
    assert.deepEqual(got, c.expect);
    const errors = c.expect.filter((l) => !/: warning: /.test(l)).length;
    assert.equal(r.ok, errors === 0, 'a profile is valid exactly when it has no errors');
  });
}
