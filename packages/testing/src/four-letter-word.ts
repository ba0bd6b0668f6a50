import { connect } from 'node:net';

/**
 * Sends a ZooKeeper four-letter word (`ruok`, `srvr`, `mntr`, ...) and returns
 * the server's whole answer; the server closes the connection after it.
 *
 * Only words in the server's `4lw.commands.whitelist` are answered; the
 * harness enables `ruok`, `stat`, `srvr` and `mntr`.
 *
 * @example
 * ```ts
 * if ((await fourLetterWord(zk.port, 'ruok')) !== 'imok') throw new Error('not ok');
 * ```
 */
export function fourLetterWord(port: number, word: string, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let answer = '';
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.end(word));
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.once('error', reject);
    socket.once('close', (hadError) => {
      if (!hadError) resolve(answer);
    });
  });
}
