/**
 * GET /dashboard/event?c=&e=&t=&x=&s=: the signed event link of an alert (nodes/lib/event-links.ts).
 *
 * The link does not log anyone in (secure by default: a forwarded Telegram message must not
 * open the cameras to whoever reads it). A valid link redirects to the page with the event in
 * the fragment; the page asks for the login as always and then opens that event with its clip.
 * A malformed link is 400, a tampered one (or one signed with another secret) 403, an expired
 * one 410, each with the reason as plain text for the person who tapped it.
 */
import type { Request, Response } from 'express';
import { eventFragment, verifyEventLink } from '../../nodes/lib/event-links';

export function eventLinkHandler(secret: string) {
  return (req: Request, res: Response): void => {
    // The query holds the signature: keep it out of caches and of the next page's Referer.
    res.set({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', 'X-Content-Type-Options': 'nosniff' });
    if (!secret) {
      res.status(404).type('text/plain').send('This server signs no event links (it has no credential secret).\n');
      return;
    }
    const query = new URL(req.originalUrl, 'http://link').searchParams;
    const check = verifyEventLink(secret, query);
    if (!check.ok) {
      res.status(check.status).type('text/plain').send(`This event link cannot be opened: ${check.reason}.\n`);
      return;
    }
    res.redirect(302, `/dashboard/${eventFragment(check)}`);
  };
}
