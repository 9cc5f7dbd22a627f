/** Incremental Server-Sent Events decoder (WHATWG framing: `event:`, `data:`, blank line). */
export interface SseEvent {
  event: string;
  data: string;
}

export interface SseDecoder {
  push(text: string): SseEvent[];
  end(): SseEvent[];
}

export function createSseDecoder(): SseDecoder {
  let buffer = '';
  let event = '';
  let data: string[] = [];
  const dispatch = (out: SseEvent[]): void => {
    if (data.length > 0) out.push({ event: event || 'message', data: data.join('\n') });
    event = '';
    data = [];
  };
  const lines = (final: boolean): SseEvent[] => {
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(buffer);
      if (!m) break;
      // A lone \r at the very end may be the first half of \r\n: wait for more input.
      if (m[0] === '\r' && m.index === buffer.length - 1 && !final) break;
      const line = buffer.slice(0, m.index);
      buffer = buffer.slice(m.index + m[0].length);
      if (line === '') dispatch(out);
      else if (line.startsWith(':')) continue;
      else {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
    }
    if (final) {
      if (buffer !== '') {
        buffer += '\n';
        out.push(...lines(false));
      }
      dispatch(out);
    }
    return out;
  };
  return {
    push: (text) => {
      buffer += text;
      return lines(false);
    },
    end: () => lines(true),
  };
}
