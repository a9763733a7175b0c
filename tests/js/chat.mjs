// Send one user message to a family-A chat with the Vercel AI SDK's DefaultChatTransport,
// assemble the streamed reply with readUIMessageStream, and print one JSON line
// {messageId, role, text, partTypes} for the Python test to compare with the stored reply.
//
//   node chat.mjs <baseUrl> <chatId> <"chat-session=…" | "Bearer <jwt>"> [message]
import { assemble, fail, makeTransport, parseArgs, print, textOf, userMessage } from './client.mjs';

const args = parseArgs('chat.mjs');
const transport = makeTransport(args);

try {
  const stream = await transport.sendMessages({
    trigger: 'submit-message',
    chatId: args.chatId,
    messageId: undefined,
    messages: [userMessage(args.message ?? 'Tell me about the lighthouse on the cliff')],
    abortSignal: undefined,
  });
  const reply = await assemble(stream);
  if (!reply) fail('the stream ended without an assistant message');
  print({
    messageId: reply.id,
    role: reply.role,
    text: textOf(reply),
    partTypes: reply.parts.map((part) => part.type),
  });
} catch (error) {
  fail(`chat.mjs: ${error?.stack ?? error}`);
}
