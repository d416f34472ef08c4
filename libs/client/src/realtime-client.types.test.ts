// Compile-time checks of the realtime event maps (socket.io checks its own with tsd): tsc fails on a
// line below if the contract drifts. `npm run typecheck` and ts-jest both type-check this file.
import { RealtimeClient, type RealtimeSocket } from './realtime-client';
import type { PresenceListAck, RealtimeAck, RealtimeMessage } from './realtime-events';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

// Never called: only compiled.
export function clientSideContract(client: RealtimeClient, socket: RealtimeSocket): void {
  expectType<Equal<ReturnType<RealtimeClient['subscribe']>, Promise<RealtimeAck>>>();
  expectType<Equal<ReturnType<RealtimeClient['presence']>, Promise<PresenceListAck>>>();
  expectType<Equal<ReturnType<RealtimeClient['refresh']>, Promise<RealtimeAck>>>();
  client.on('message', (m) => {
    expectType<Equal<typeof m, RealtimeMessage>>();
    return m;
  });
  client.on('presence:join', (e) => {
    expectType<Equal<typeof e.user_id, string>>();
    return e;
  });
  // @ts-expect-error a message is an object, not a number
  client.on('message', (m: number) => m);
  // @ts-expect-error no such server event
  client.on('presence:joined', () => undefined);
  // @ts-expect-error the channel is a string
  socket.emit('subscribe', 42, () => undefined);
  // @ts-expect-error every client event takes an ack
  socket.emit('subscribe', 'news');
  // @ts-expect-error no such client event
  socket.emit('publish', 'news', () => undefined);
  socket.emit('presence:list', (answer) => {
    if (answer.ok) expectType<Equal<(typeof answer.users)[number]['connections'], number>>();
    else expectType<Equal<typeof answer.error.code, number>>();
  });
}

describe('RealtimeClient handshake token', () => {
  it('hands the constructor token to the handshake auth callback', () => {
    const client = new RealtimeClient({
      url: 'http://127.0.0.1:9',
      token: 'token-1',
      socketOptions: { autoConnect: false },
    });
    const auth = client.socket.auth as (cb: (data: object) => void) => void;
    let sent: object | undefined;
    auth((data) => {
      sent = data;
    });
    expect(sent).toEqual({ token: 'token-1' });
    client.close();
  });
});
