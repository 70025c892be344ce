/**
 * How ffmpeg and ffprobe are told which RTSP camera to open without the login
 * showing in the process list: the URL (with the login in it, which is how
 * ffmpeg takes RTSP credentials) goes in an ffconcat script written to the
 * process's stdin, and the command line only says `-f concat -i pipe:0`.
 * /proc/PID/cmdline is readable by every user of the machine; a pipe is not.
 *
 * The concat demuxer opens the one `file` with the `option`s below it, so the
 * RTSP options (transport, socket time-out) travel in the script too.
 */
/** An RTSP camera pulled by the 'rtsp' source (an IP camera's stream). */
export interface RtspInput {
  /** rtsp://host:554/path, without credentials */
  url: string;
  username?: string;
  password?: string;
  /** RTSP over TCP (the default: no lost packets through NAT and Wi-Fi) or UDP */
  transport: 'tcp' | 'udp';
}

/** How long a silent camera socket is waited for before ffmpeg gives up (µs, RTSP's `timeout`). */
const SOCKET_TIMEOUT_US = 5_000_000;

/** The camera URL with the login URL-encoded into it: only ever handed to ffmpeg through a pipe. */
export function urlWithLogin(input: Pick<RtspInput, 'url' | 'username' | 'password'>): string {
  const url = new URL(input.url);
  if (input.username) {
    url.username = encodeURIComponent(input.username);
    url.password = input.password ? encodeURIComponent(input.password) : '';
  }
  return url.toString();
}

/** ffconcat quoting: inside single quotes, a quote is written '\'' (as in a shell). */
function quoted(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/** The script ffmpeg reads on stdin: the camera and its RTSP options. */
export function concatScript(input: RtspInput, analyzeUs = 500_000): string {
  return [
    'ffconcat version 1.0',
    `file ${quoted(urlWithLogin(input))}`,
    `option rtsp_transport ${input.transport}`,
    `option timeout ${SOCKET_TIMEOUT_US}`,
    // ffmpeg reads 5 s of a stream before it starts by default; the SDP and the first frames say enough.
    `option analyzeduration ${analyzeUs}`,
    'option probesize 500000',
    '',
  ].join('\n');
}

/** The input arguments that read the camera from the script on stdin. */
export function hiddenInputArgs(): string[] {
  return ['-f', 'concat', '-safe', '0', '-protocol_whitelist', 'pipe,rtsp,rtsps,rtp,srtp,tcp,udp,tls', '-i', 'pipe:0'];
}

/**
 * One line that says why a camera could not be opened, from ffmpeg's or
 * ffprobe's stderr (which may quote the URL: it is redacted by the caller).
 * undefined when the lines say nothing we recognise.
 */
export function rtspFailure(lines: readonly string[], url: string): string | undefined {
  const text = lines.join('\n');
  const where = safeHost(url);
  if (/401 Unauthorized|authorization failed/i.test(text)) return `wrong user or password for ${where} (the camera answered 401)`;
  if (/403 Forbidden/i.test(text)) return `the camera refused this user (403) at ${where}`;
  if (/404 Not Found|454 Session Not Found/i.test(text)) return `no such stream at ${where} (the camera answered 404: check the path)`;
  if (/Connection refused/i.test(text)) return `nothing listens at ${where} (connection refused: check the address and RTSP port)`;
  if (/timed out|Connection timed out|No route to host|Network is unreachable/i.test(text))
    return `the camera at ${where} does not answer (time-out: is it on and reachable from here?)`;
  if (/Name or service not known|Temporary failure in name resolution|Failed to resolve/i.test(text)) return `unknown host in ${where}`;
  if (/461 Unsupported transport|Nonmatching transport/i.test(text))
    return `the camera refuses this RTSP transport at ${where} (try UDP or TCP)`;
  return undefined;
}

/** host:port/path of a URL, never its login. */
export function safeHost(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname}`;
  } catch {
    return 'the camera';
  }
}
