/**
 * A fake ONVIF camera on loopback (SOAP 1.2 over HTTP): the calls the ipcam
 * node uses (GetSystemDateAndTime, GetCapabilities, GetProfiles, GetStreamUri,
 * GetSnapshotUri), answering with the element names of ONVIF's WSDLs, a WS-Security
 * UsernameToken digest checked for every call but the clock, and a clock that
 * can be set off. Answers a NotAuthorized fault to a wrong login, as cameras do.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { texts } from '../../nodes/ipcam/onvif';

export interface FakeOnvifOptions {
  username: string;
  password: string;
  /** camera clock minus real time, ms */
  skewMs?: number;
  profiles: Array<{ token: string; name: string; width: number; height: number; encoding: string; uri: string }>;
}

const envelope = (body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:trt="http://www.onvif.org/ver10/media/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema"><SOAP-ENV:Body>${body}</SOAP-ENV:Body></SOAP-ENV:Envelope>`;

export class FakeOnvif {
  readonly calls: string[] = [];
  private readonly server: http.Server;

  constructor(private readonly o: FakeOnvifOptions) {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => this.answer(req.url ?? '', body, res));
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  private authorised(xml: string): boolean {
    const [user, digest, nonce, created] = ['Username', 'Password', 'Nonce', 'Created'].map((n) => texts(xml, n)[0]);
    if (user !== this.o.username || !digest || !nonce || !created) return false;
    // As cameras do: the token must be fresh by the camera's own clock.
    if (Math.abs(Date.parse(created) - (Date.now() + (this.o.skewMs ?? 0))) > 30_000) return false;
    const expected = createHash('sha1')
      .update(Buffer.concat([Buffer.from(nonce, 'base64'), Buffer.from(created + this.o.password)]))
      .digest('base64');
    return expected === digest;
  }

  private answer(url: string, xml: string, res: http.ServerResponse): void {
    const send = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'application/soap+xml; charset=utf-8' });
      res.end(envelope(body));
    };
    if (url !== '/onvif/device_service' && url !== '/onvif/media_service') return void res.writeHead(404).end();
    const action = /<s:Body><(?:\w+:)?(\w+)/.exec(xml)?.[1] ?? '';
    this.calls.push(action);
    if (action === 'GetSystemDateAndTime') {
      const d = new Date(Date.now() + (this.o.skewMs ?? 0));
      return send(
        200,
        `<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType><tt:UTCDateTime><tt:Time><tt:Hour>${d.getUTCHours()}</tt:Hour><tt:Minute>${d.getUTCMinutes()}</tt:Minute><tt:Second>${d.getUTCSeconds()}</tt:Second></tt:Time><tt:Date><tt:Year>${d.getUTCFullYear()}</tt:Year><tt:Month>${d.getUTCMonth() + 1}</tt:Month><tt:Day>${d.getUTCDate()}</tt:Day></tt:Date></tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>`,
      );
    }
    if (!this.authorised(xml)) {
      return send(
        400,
        '<SOAP-ENV:Fault><SOAP-ENV:Code><SOAP-ENV:Value>SOAP-ENV:Sender</SOAP-ENV:Value><SOAP-ENV:Subcode><SOAP-ENV:Value>ter:NotAuthorized</SOAP-ENV:Value></SOAP-ENV:Subcode></SOAP-ENV:Code><SOAP-ENV:Reason><SOAP-ENV:Text xml:lang="en">Sender not Authorized</SOAP-ENV:Text></SOAP-ENV:Reason></SOAP-ENV:Fault>',
      );
    }
    const media = `http://127.0.0.1:${this.port}/onvif/media_service`;
    const token = texts(xml, 'ProfileToken')[0];
    const profile = this.o.profiles.find((p) => p.token === token);
    switch (action) {
      case 'GetCapabilities':
        return send(
          200,
          `<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Media><tt:XAddr>${media}</tt:XAddr></tt:Media></tds:Capabilities></tds:GetCapabilitiesResponse>`,
        );
      case 'GetProfiles':
        return send(
          200,
          `<trt:GetProfilesResponse>${this.o.profiles.map((p) => `<trt:Profiles token="${p.token}" fixed="true"><tt:Name>${p.name}</tt:Name><tt:VideoEncoderConfiguration token="enc_${p.token}"><tt:Name>enc</tt:Name><tt:Encoding>${p.encoding}</tt:Encoding><tt:Resolution><tt:Width>${p.width}</tt:Width><tt:Height>${p.height}</tt:Height></tt:Resolution></tt:VideoEncoderConfiguration></trt:Profiles>`).join('')}</trt:GetProfilesResponse>`,
        );
      case 'GetStreamUri':
        return profile
          ? send(
              200,
              `<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>${profile.uri.replace(/&/g, '&amp;')}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect></trt:MediaUri></trt:GetStreamUriResponse>`,
            )
          : send(400, '<SOAP-ENV:Fault><SOAP-ENV:Reason><SOAP-ENV:Text>no such profile</SOAP-ENV:Text></SOAP-ENV:Reason></SOAP-ENV:Fault>');
      case 'GetSnapshotUri':
        return send(
          200,
          `<trt:GetSnapshotUriResponse><trt:MediaUri><tt:Uri>http://127.0.0.1:${this.port}/snap/${token}.jpg</tt:Uri></trt:MediaUri></trt:GetSnapshotUriResponse>`,
        );
      default:
        return send(
          400,
          '<SOAP-ENV:Fault><SOAP-ENV:Reason><SOAP-ENV:Text>action not supported</SOAP-ENV:Text></SOAP-ENV:Reason></SOAP-ENV:Fault>',
        );
    }
  }
}
