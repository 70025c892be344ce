/*
 * The dashboard's service worker: shows each Web Push alert from webpush-alert as a
 * notification ({title, body, url, image, tag, timeMs, silent}, see
 * nodes/webpush-alert/webpush-request.ts) and opens its link when it is tapped.
 * Plain JavaScript served as it is: no build step between this file and the browser.
 */
self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (err) {
    data = { title: 'PiCam Guardian', body: `an alert that could not be read (${err.message})` };
  }
  event.waitUntil(
    self.registration.showNotification(data.title || 'PiCam Guardian', {
      body: data.body || '',
      image: data.image,
      icon: 'icon.svg',
      badge: 'icon.svg',
      tag: data.tag,
      renotify: !!data.tag,
      silent: !!data.silent,
      timestamp: data.timeMs,
      data: { url: data.url },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || self.registration.scope;
  event.waitUntil(self.clients.openWindow(url));
});
