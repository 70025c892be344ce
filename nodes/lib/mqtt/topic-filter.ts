/** MQTT topic filters, read the one way the broker and our clients both need. */

/** Does a topic match an MQTT filter (`+` one level, `#` the rest)? $-topics only match filters that name them. */
export function topicMatches(filter: string, topic: string): boolean {
  return topicFilter(filter)(topic);
}

/** `topicMatches` for one filter, split once (the broker tests every device message against its ingest filter). */
export function topicFilter(filter: string): (topic: string) => boolean {
  const f = filter.split('/');
  const dollar = filter.startsWith('$');
  return (topic) => {
    if (!dollar && topic.startsWith('$')) return false; // [MQTT-4.7.2-1]
    const t = topic.split('/');
    for (let i = 0; i < f.length; i++) {
      if (f[i] === '#') return true;
      if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
    }
    return f.length === t.length;
  };
}
