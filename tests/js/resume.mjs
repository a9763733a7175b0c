// Drop a reply's stream mid-way and resume it the way useChat's `resume` does: send a user
// message with DefaultChatTransport, read the first parts, abort the request (the connection
// closes), then call the transport's reconnectToStream({chatId}) (GET ${api}/${chatId}/stream)
// and assemble the resumed stream with readUIMessageStream. Prints one JSON line:
//   {resumed: true, messageId, text, firstMessageId, partialText, partsBeforeDrop}
// or, when the server answers 204 (no reply in flight any more), {resumed: false, ...}.
//
//   node resume.mjs <baseUrl> <chatId> <"chat-session=…" | "Bearer <jwt>"> [message]
import { assemble, fail, makeTransport, parseArgs, print, textOf, userMessage } from './client.mjs';

const DELTAS_BEFORE_DROP = 2;

const args = parseArgs('resume.mjs');
const transport = makeTransport(args);

try {
  const controller = new AbortController();
  const stream = await transport.sendMessages({
    trigger: 'submit-message',
    chatId: args.chatId,
    messageId: undefined,
    messages: [userMessage(args.message ?? 'Walk me up the stairs of the old lighthouse')],
    abortSignal: controller.signal,
  });
  const reader = stream.getReader();
  const before = [];
  let deltas = 0;
  while (deltas < DELTAS_BEFORE_DROP) {
    const { value, done } = await reader.read();
    if (done) break;
    before.push(value);
    if (value.type === 'error') fail(`resume.mjs: error part before the drop: ${value.errorText}`);
    if (value.type === 'text-delta') deltas += 1;
  }
  controller.abort();
  await reader.cancel().catch(() => {});

  const firstMessageId = before.find((part) => part.type === 'start')?.messageId ?? null;
  const partialText = before
    .filter((part) => part.type === 'text-delta')
    .map((part) => part.delta)
    .join('');
  const dropped = { firstMessageId, partialText, partsBeforeDrop: before.map((p) => p.type) };

  const resumed = await transport.reconnectToStream({ chatId: args.chatId });
  if (resumed === null) {
    print({ resumed: false, ...dropped });
  } else {
    const reply = await assemble(resumed);
    if (!reply) fail('the resumed stream ended without an assistant message');
    print({ resumed: true, messageId: reply.id, text: textOf(reply), ...dropped });
  }
} catch (error) {
  fail(`resume.mjs: ${error?.stack ?? error}`);
}
