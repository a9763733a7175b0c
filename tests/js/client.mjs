// What chat.mjs and resume.mjs share: the AI SDK transport pointed at family A, as a
// `useChat` front end configures it (README, "Pointing a useChat front end at the server").
import { DefaultChatTransport, generateId, readUIMessageStream } from 'ai';

// Arguments: <baseUrl> <chatId> <identity> [message]. The identity is either a Cookie header
// value ("chat-session=…": Node's fetch has no cookie jar, so the cookie a browser would send
// with `credentials: 'include'` goes in a header) or "Bearer <jwt>".
export function parseArgs(script) {
  const [baseUrl, chatId, identity, message] = process.argv.slice(2);
  if (!baseUrl || !chatId || !identity) {
    fail(`usage: node ${script} <baseUrl> <chatId> <"chat-session=…" | "Bearer <jwt>"> [message]`);
  }
  return { baseUrl: baseUrl.replace(/\/+$/, ''), chatId, identity, message };
}

export function identityHeaders(identity) {
  return identity.startsWith('Bearer ') ? { Authorization: identity } : { Cookie: identity };
}

export function makeTransport({ baseUrl, identity }) {
  return new DefaultChatTransport({
    // The resume URL the SDK derives from `api` is `${api}/${chatId}/stream`: family A's
    // GET /api/chats/{id}/stream.
    api: `${baseUrl}/api/chats`,
    credentials: 'include',
    headers: identityHeaders(identity),
    // The reply streams from POST /api/chats/{id}, whose body is the SDK's own
    // `{id, messages, trigger, messageId}` (regenerate-message names the reply it replaces).
    prepareSendMessagesRequest: ({ api, id, messages, trigger, messageId }) => ({
      api: `${api}/${encodeURIComponent(id)}`,
      body: { id, messages, trigger, messageId },
    }),
  });
}

export function userMessage(text) {
  return { id: generateId(), role: 'user', parts: [{ type: 'text', text }] };
}

// The text of an assembled UIMessage: its text parts, in order.
export function textOf(message) {
  return (message?.parts ?? [])
    .filter((part) => part.type === 'text')
    .map((part) => part.text)
    .join('');
}

// Read a UI message chunk stream to its end with the SDK's own reader; an `error` part or a
// malformed part fails the read. Returns the last (complete) state of the assistant message.
export async function assemble(stream) {
  let last;
  for await (const message of readUIMessageStream({ stream, terminateOnError: true })) {
    last = message;
  }
  return last;
}

export function print(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

export function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
