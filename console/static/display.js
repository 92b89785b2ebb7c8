// The big screen: live part over the WebSocket, countdown, and the bar chart of an announced result.
import { follow, countdowns } from './live.js';

let chart = null;

function draw() {
  countdowns();
  const data = document.getElementById('chart-data');
  const canvas = document.getElementById('chart');
  if (chart) { chart.destroy(); chart = null; }
  if (!data || !canvas || !window.Chart) return;
  const d = JSON.parse(data.textContent);
  const colours = ['#2e9d4a', '#d23c3c', '#d9a520', '#6b6bd6'];
  chart = new window.Chart(canvas, {
    type: 'bar',
    data: {
      labels: d.labels,
      datasets: d.series.map((name, i) => ({
        label: name, data: d.counts.map((row) => row[i]), backgroundColor: colours[i % colours.length],
      })),
    },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      plugins: { legend: { labels: { color: '#fff', font: { size: 22 } } } },
      scales: { x: { ticks: { color: '#fff', font: { size: 18 } } }, y: { ticks: { color: '#fff', font: { size: 18 } }, beginAtZero: true } },
    },
  });
  document.body.dataset.chart = 'drawn';
}

follow(draw);
