/**
 * A fake ONVIF camera on loopback (SOAP 1.2 over HTTP): the calls the ipcam
 * node uses (GetSystemDateAndTime, GetCapabilities, GetProfiles, GetStreamUri,
 * GetSnapshotUri), answering with the element names of ONVIF's WSDLs, a WS-Security
 * UsernameToken digest checked for every call but the clock, and a clock that
 * can be set off. Answers a NotAuthorized fault to a wrong login, as cameras do.
 *
 * Events service (PullPoint): CreatePullPointSubscription, PullMessages (a long
 * poll: held until an event or the requested timeout), Renew, Unsubscribe;
 * `motion()` sends tns1:VideoSource/MotionAlarm (State) or
 * tns1:RuleEngine/CellMotionDetector/Motion (IsMotion) to every subscription.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { texts } from '../../nodes/ipcam/onvif';

export interface FakeOnvifOptions {
  username: string;
  password: string;
  /** camera clock minus real time, ms: logins are checked against it */
  skewMs?: number;
  /**
   * what GetSystemDateAndTime says instead (default: the same clock). Cameras that report
   * local time as UTC do this: a login stamped with the reported time is refused.
   */
  reportedSkewMs?: number;
  /** offers the Events service (default true) */
  events?: boolean;
  profiles: Array<{ token: string; name: string; width: number; height: number; encoding: string; uri: string }>;
}

const envelope = (body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:trt="http://www.onvif.org/ver10/media/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:tev="http://www.onvif.org/ver10/events/wsdl" xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" xmlns:wsa5="http://www.w3.org/2005/08/addressing" xmlns:tns1="http://www.onvif.org/ver10/topics"><SOAP-ENV:Body>${body}</SOAP-ENV:Body></SOAP-ENV:Envelope>`;

interface Subscription {
  id: number;
  queue: string[];
  waiting?: { send: (body: string) => void; timer: NodeJS.Timeout };
}

export class FakeOnvif {
  readonly calls: string[] = [];
  private readonly server: http.Server;
  private readonly subs = new Map<number, Subscription>();
  private nextSub = 1;

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

  /** Subscriptions not (yet) unsubscribed. */
  get subscriptions(): number {
    return this.subs.size;
  }

  /** A motion event to every subscription, as the camera's own detector sends it. */
  motion(active: boolean, kind: 'alarm' | 'cell' = 'alarm', source = 'VideoSource_1'): void {
    const [topic, item, sourceName] =
      kind === 'alarm'
        ? ['tns1:VideoSource/MotionAlarm', 'State', 'Source']
        : ['tns1:RuleEngine/CellMotionDetector/Motion', 'IsMotion', 'VideoSourceConfigurationToken'];
    const now = new Date().toISOString();
    const message = `<wsnt:NotificationMessage><wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">${topic}</wsnt:Topic><wsnt:Message><tt:Message UtcTime="${now}" PropertyOperation="Changed"><tt:Source><tt:SimpleItem Name="${sourceName}" Value="${source}"/></tt:Source><tt:Data><tt:SimpleItem Name="${item}" Value="${active}"/></tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>`;
    for (const sub of this.subs.values()) {
      sub.queue.push(message);
      this.flush(sub);
    }
  }

  /**
   * Whether every event sent so far was answered to a pull and the client pulled again
   * after it: the client has handled them (it pulls again only after handling an answer).
   */
  get eventsHandled(): boolean {
    const pending = [...this.subs.values()].some((s) => s.queue.length > 0);
    return !pending && this.pullCount() > this.pullsAtDelivery;
  }

  private pullsAtDelivery = 0;
  private pullCount(): number {
    return this.calls.filter((c) => c === 'PullMessages').length;
  }

  private flush(sub: Subscription): void {
    if (!sub.waiting || sub.queue.length === 0) return;
    this.pullsAtDelivery = this.pullCount();
    const { send, timer } = sub.waiting;
    clearTimeout(timer);
    sub.waiting = undefined;
    send(this.pullResponse(sub.queue.splice(0)));
  }

  private pullResponse(messages: string[]): string {
    const now = new Date().toISOString();
    return `<tev:PullMessagesResponse><tev:CurrentTime>${now}</tev:CurrentTime><tev:TerminationTime>${now}</tev:TerminationTime>${messages.join('')}</tev:PullMessagesResponse>`;
  }

  close(): Promise<void> {
    for (const sub of this.subs.values()) clearTimeout(sub.waiting?.timer);
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
    const subMatch = /^\/onvif\/subscription\/(\d+)$/.exec(url);
    const known = ['/onvif/device_service', '/onvif/media_service', ...(this.o.events === false ? [] : ['/onvif/events_service'])];
    if (!known.includes(url) && !subMatch) return void res.writeHead(404).end();
    const action = /<s:Body><(?:\w+:)?(\w+)/.exec(xml)?.[1] ?? '';
    this.calls.push(action);
    if (action === 'GetSystemDateAndTime') {
      const d = new Date(Date.now() + (this.o.reportedSkewMs ?? this.o.skewMs ?? 0));
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
    if (subMatch) return this.subscription(Number(subMatch[1]), action, xml, send);
    const token = texts(xml, 'ProfileToken')[0];
    const profile = this.o.profiles.find((p) => p.token === token);
    switch (action) {
      case 'GetCapabilities':
        return send(
          200,
          `<tds:GetCapabilitiesResponse><tds:Capabilities>${this.o.events === false ? '' : `<tt:Events><tt:XAddr>http://127.0.0.1:${this.port}/onvif/events_service</tt:XAddr><tt:WSSubscriptionPolicySupport>false</tt:WSSubscriptionPolicySupport><tt:WSPullPointSupport>true</tt:WSPullPointSupport></tt:Events>`}<tt:Media><tt:XAddr>${media}</tt:XAddr></tt:Media></tds:Capabilities></tds:GetCapabilitiesResponse>`,
        );
      case 'CreatePullPointSubscription': {
        if (url !== '/onvif/events_service') break;
        const sub: Subscription = { id: this.nextSub++, queue: [] };
        this.subs.set(sub.id, sub);
        const now = new Date().toISOString();
        return send(
          200,
          `<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference><wsa5:Address>http://192.0.2.1:${this.port}/onvif/subscription/${sub.id}</wsa5:Address></tev:SubscriptionReference><wsnt:CurrentTime>${now}</wsnt:CurrentTime><wsnt:TerminationTime>${now}</wsnt:TerminationTime></tev:CreatePullPointSubscriptionResponse>`,
        );
      }
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
    }
    return send(
      400,
      '<SOAP-ENV:Fault><SOAP-ENV:Reason><SOAP-ENV:Text>action not supported</SOAP-ENV:Text></SOAP-ENV:Reason></SOAP-ENV:Fault>',
    );
  }

  /** PullMessages, Renew and Unsubscribe on one subscription. */
  private subscription(id: number, action: string, xml: string, send: (status: number, body: string) => void): void {
    const sub = this.subs.get(id);
    const fault = (text: string) =>
      send(400, `<SOAP-ENV:Fault><SOAP-ENV:Reason><SOAP-ENV:Text>${text}</SOAP-ENV:Text></SOAP-ENV:Reason></SOAP-ENV:Fault>`);
    if (!sub) return fault('no such subscription');
    switch (action) {
      case 'PullMessages': {
        if (sub.waiting) return fault('a pull is already waiting');
        const seconds = Math.min(60, Number(/PT(\d+)S/.exec(texts(xml, 'Timeout')[0] ?? '')?.[1] ?? 10));
        sub.waiting = {
          send: (body) => send(200, body),
          timer: setTimeout(() => {
            sub.waiting = undefined;
            send(200, this.pullResponse([]));
          }, seconds * 1000),
        };
        return this.flush(sub);
      }
      case 'Renew':
        return send(
          200,
          `<wsnt:RenewResponse><wsnt:TerminationTime>${new Date().toISOString()}</wsnt:TerminationTime></wsnt:RenewResponse>`,
        );
      case 'Unsubscribe':
        clearTimeout(sub.waiting?.timer);
        this.subs.delete(id);
        return send(200, '<wsnt:UnsubscribeResponse/>');
      default:
        return send(
          400,
          '<SOAP-ENV:Fault><SOAP-ENV:Reason><SOAP-ENV:Text>action not supported</SOAP-ENV:Text></SOAP-ENV:Reason></SOAP-ENV:Fault>',
        );
    }
  }
}
