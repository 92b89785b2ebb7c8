// Follow /api/v1/ws/live and reload the page's live part (#live, its data-src) on every new snapshot.
// The WebSocket authenticates with the console's session cookie. When the gateway goes away the
// banner #conn shows and the socket is retried with a growing pause (0.5 s .. 5 s); the first
// snapshot after it comes back reloads the live part, so the page resynchronises by itself.

const conn = document.getElementById('conn');

export function follow(onUpdate) {
  const live = document.getElementById('live');
  let shown = live.querySelector('#live-inner')?.dataset.version;
  let pause = 500;
  let loading = null;
  let again = false;

  async function reload() {
    if (loading) { again = true; return; }
    loading = (async () => {
      try {
        const res = await fetch(live.dataset.src, { credentials: 'same-origin', cache: 'no-store' });
        if (res.redirected && res.url.includes('/console/login')) { location.reload(); return; }
        if (!res.ok) return;
        live.innerHTML = await res.text();
        shown = live.querySelector('#live-inner')?.dataset.version;
        onUpdate?.();
      } catch (e) { /* the socket's retry covers it */ }
    })();
    await loading;
    loading = null;
    if (again) { again = false; reload(); }
  }

  function connect() {
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${proto}://${location.host}/api/v1/ws/live`);
    let first = true;
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type !== 'snapshot') return;
      conn.hidden = true;
      pause = 500;
      if (first || String(msg.data.version) !== String(shown)) reload();
      first = false;
    };
    ws.onclose = () => {
      conn.hidden = false;
      setTimeout(connect, pause);
      pause = Math.min(pause * 2, 5000);
    };
  }
  connect();
  onUpdate?.();
}

export function countdowns() {
  for (const el of document.querySelectorAll('[data-deadline]')) {
    const left = Math.max(0, Math.round(Number(el.dataset.deadline) - Date.now() / 1000));
    el.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`;
  }
}
setInterval(countdowns, 250);
