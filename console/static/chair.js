// The chair page: live part, countdown, and keyboard shortcuts (O open, C close, A announce). A shortcut
// only asks: it posts the action without confirmation, and the gateway answers with the confirm page.
import { follow, countdowns } from './live.js';

follow(countdowns);

function post(fields) {
  const form = document.createElement('form');
  form.method = 'post';
  form.action = '/console/chair/do';
  const csrf = document.querySelector('input[name=csrf]')?.value ?? '';
  for (const [k, v] of Object.entries({ csrf, ...fields, shortcut: '1' })) {
    const input = document.createElement('input');
    input.type = 'hidden'; input.name = k; input.value = v;
    form.append(input);
  }
  document.body.append(form);
  form.submit();
}

document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || e.target.closest('input, textarea, select')) return;
  const inner = document.getElementById('live-inner');
  if (!inner) return;
  const key = e.key.toLowerCase();
  if (key === 'c' && inner.dataset.closeMotion) {
    post({ action: 'close', motion: inner.dataset.closeMotion, number: inner.dataset.closeNumber });
  } else if (key === 'a' && inner.dataset.announceMotion) {
    post({ action: 'announce', motion: inner.dataset.announceMotion, number: inner.dataset.announceNumber });
  } else if (key === 'o') {
    const form = document.querySelector('.open-form');
    if (form) post({ action: 'open', motion: form.dataset.motion, number: form.dataset.number });
  }
});
