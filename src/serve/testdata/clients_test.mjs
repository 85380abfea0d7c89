// The official npm clients against `cmdai serve`: what users of the OpenAI and Ollama SDKs run.
// Usage: node clients_test.mjs http://127.0.0.1:PORT MODEL (with NODE_PATH naming node_modules).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(process.env.NODE_PATH + '/');
const OpenAI = require('openai');
const { Ollama } = require('ollama');
const [url, model] = process.argv.slice(2);

async function openaiClient() {
  const client = new OpenAI({ baseURL: url + '/v1', apiKey: 'unused', maxRetries: 0 });
  const models = await client.models.list();
  assert.equal(models.data[0].id, model);

  const chat = await client.chat.completions.create({
    model, messages: [{ role: 'user', content: 'list files' }], max_tokens: 4, temperature: 0,
  });
  assert.equal(chat.choices[0].message.role, 'assistant');
  assert.ok(['stop', 'length'].includes(chat.choices[0].finish_reason));
  assert.ok(chat.usage.completion_tokens <= 4);

  const stream = await client.chat.completions.create({
    model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, temperature: 2, seed: 7,
    stream: true, stream_options: { include_usage: true },
  });
  let chunks = 0, usage = null, finish = null;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
  }
  assert.ok(chunks >= 2);
  assert.equal(usage.completion_tokens, 5);
  assert.equal(finish, 'length');

  const completion = await client.completions.create({ model, prompt: 'ls', max_tokens: 3, stop: ['\n'] });
  assert.equal(typeof completion.choices[0].text, 'string');

  await assert.rejects(
    client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e.status === 404 && e.error?.code === 'model_not_found');
  await assert.rejects(
    client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }], temperature: 9 }),
    (e) => e.status === 400 && e.error?.param === 'temperature');
  console.log('openai client: ok');
}

async function ollamaClient() {
  const client = new Ollama({ host: url });
  const tags = await client.list();
  assert.equal(tags.models[0].name, model);
  const version = await (await fetch(url + '/api/version')).json();  // not in ollama-js 0.5
  assert.equal(typeof version.version, 'string');

  const once = await client.generate({ model, prompt: 'hi', stream: false, options: { num_predict: 3 } });
  assert.equal(once.done, true);
  assert.ok(['stop', 'length'].includes(once.done_reason));
  assert.ok(once.eval_count <= 3);

  let last = null;
  for await (const part of await client.chat({
    model, messages: [{ role: 'user', content: 'hi' }], stream: true,
    options: { num_predict: 4, temperature: 2, seed: 3 },
  })) last = part;
  assert.equal(last.done, true);
  assert.equal(last.eval_count, 4);
  assert.ok(last.total_duration > 0);

  const shown = await client.show({ model });
  assert.equal(shown.details.format, 'gguf');
  await assert.rejects(client.generate({ model: 'nope', prompt: 'x', stream: false }),
    (e) => e.status_code === 404);
  console.log('ollama client: ok');
}

await openaiClient();
await ollamaClient();
