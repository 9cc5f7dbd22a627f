/**
 * Runs official SDK calls the way an agent inside a sandbox does: through the gateway via
 * HTTPS_PROXY (NODE_USE_ENV_PROXY=1) trusting the sandbox CA (NODE_EXTRA_CA_CERTS).
 * argv[2]: JSON list of calls. Prints one JSON line per call.
 */
import { Agent } from 'node:https';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, InvokeModelCommand, InvokeModelWithResponseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface Call {
  kind: 'anthropic.stream' | 'anthropic.json' | 'openai.chat' | 'openai.responses' | 'bedrock.converse' | 'bedrock.converse-stream' | 'bedrock.invoke' | 'bedrock.invoke-stream' | 'plain.get'
    | 'anthropic.batch' | 'anthropic.batch-results' | 'openai.file-content';
  model?: string;
  url?: string;
  /** anthropic.batch: the requests' custom ids. */
  customIds?: string[];
  /** anthropic.batch: false to create the batch without collecting its results. */
  fetch?: boolean;
  /** anthropic.batch-results: the batch; openai.file-content: the file. */
  id?: string;
}

const anthropic = new Anthropic({ apiKey: 'sk-ant-test-key', maxRetries: 0 });
const openai = new OpenAI({ apiKey: 'sk-test-key', maxRetries: 0 });
const bedrock = new BedrockRuntimeClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDEXAMPLEFAKE00000', secretAccessKey: 'fake-secret' },
  maxAttempts: 1,
  requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ proxyEnv: process.env } as ConstructorParameters<typeof Agent>[0]) }),
});
const messages = [{ role: 'user' as const, content: 'Say hello.' }];

async function run(c: Call): Promise<Record<string, unknown>> {
  switch (c.kind) {
    case 'anthropic.stream': {
      const s = await anthropic.messages.create({ model: c.model!, max_tokens: 64, messages, stream: true });
      let text = '';
      let usage: unknown = null;
      for await (const ev of s) {
        if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
        if (ev.type === 'message_delta') usage = ev.usage;
      }
      return { text, usage };
    }
    case 'anthropic.json': {
      const m = await anthropic.messages.create({ model: c.model!, max_tokens: 64, messages });
      return { text: m.content.map((b) => (b.type === 'text' ? b.text : '')).join(''), usage: m.usage };
    }
    case 'openai.chat': {
      const s = await openai.chat.completions.create({ model: c.model!, messages, stream: true });
      let text = '';
      let usage: unknown = null;
      for await (const ch of s) {
        text += ch.choices[0]?.delta?.content ?? '';
        if (ch.usage) usage = ch.usage;
      }
      return { text, usage };
    }
    case 'openai.responses': {
      const s = await openai.responses.create({ model: c.model!, input: 'Say hello.', stream: true });
      let usage: unknown = null;
      for await (const ev of s) if (ev.type === 'response.completed') usage = ev.response.usage;
      return { usage };
    }
    case 'bedrock.converse-stream': {
      const r = await bedrock.send(new ConverseStreamCommand({ modelId: c.model!, messages: [{ role: 'user', content: [{ text: 'Say hello.' }] }] }));
      let text = '';
      let usage: unknown = null;
      for await (const ev of r.stream!) {
        if (ev.contentBlockDelta?.delta?.text) text += ev.contentBlockDelta.delta.text;
        if (ev.metadata) usage = ev.metadata.usage;
      }
      return { text, usage };
    }
    case 'bedrock.converse': {
      const r = await bedrock.send(new ConverseCommand({ modelId: c.model!, messages: [{ role: 'user', content: [{ text: 'Say hello.' }] }] }));
      return { text: r.output?.message?.content?.[0]?.text ?? '', usage: r.usage };
    }
    case 'bedrock.invoke': {
      const body = JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 64, messages: [{ role: 'user', content: 'Say hello.' }] });
      const r = await bedrock.send(new InvokeModelCommand({ modelId: c.model!, body, contentType: 'application/json', accept: 'application/json' }));
      return { text: JSON.parse(Buffer.from(r.body).toString('utf8')).content[0].text };
    }
    case 'bedrock.invoke-stream': {
      const body = JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 64, messages: [{ role: 'user', content: 'Say hello.' }] });
      const r = await bedrock.send(new InvokeModelWithResponseStreamCommand({ modelId: c.model!, body, contentType: 'application/json', accept: 'application/json' }));
      const events: string[] = [];
      for await (const ev of r.body!) if (ev.chunk?.bytes) events.push(JSON.parse(Buffer.from(ev.chunk.bytes).toString('utf8')).type);
      return { events };
    }
    case 'anthropic.batch': {
      const batch = await anthropic.messages.batches.create({ requests: c.customIds!.map((custom_id) => ({ custom_id, params: { model: c.model!, max_tokens: 64, messages } })) });
      return { id: batch.id, ...(c.fetch === false ? {} : { results: await batchResults(batch.id) }) };
    }
    case 'anthropic.batch-results':
      return { id: c.id, results: await batchResults(c.id!) };
    case 'openai.file-content': {
      const r = await openai.files.content(c.id!);
      return { lines: (await r.text()).split('\n').filter(Boolean).length };
    }
    case 'plain.get': {
      const r = await fetch(c.url!);
      return { status: r.status, body: await r.text() };
    }
  }
}

/** The SDK's own results reader (it retrieves the batch, then streams its results_url). */
async function batchResults(id: string): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for await (const r of await anthropic.messages.batches.results(id)) out.push([r.custom_id, r.result.type]);
  return out;
}

const calls = JSON.parse(process.argv[2] ?? '[]') as Call[];
for (const c of calls) {
  try {
    process.stdout.write(JSON.stringify({ ok: true, kind: c.kind, ...(await run(c)) }) + '\n');
  } catch (err) {
    const e = err as { status?: number; error?: unknown; message?: string; $metadata?: { httpStatusCode?: number }; $response?: unknown };
    process.stdout.write(JSON.stringify({ ok: false, kind: c.kind, status: e.status ?? e.$metadata?.httpStatusCode ?? null, error: e.error ?? null, message: e.message ?? String(err) }) + '\n');
  }
}
