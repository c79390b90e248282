// Every chart of the page: is it wider than its card, and is any tick, category, legend or axis label cut
// off by the chart or by the card? Returns a list of problems in words (empty: all readable).
const problems = [];
const inside = (r, box) => r.left >= box.left - 1 && r.right <= box.right + 1 && r.top >= box.top - 1
    && r.bottom <= box.bottom + 1;
document.querySelectorAll('.js-plotly-plot').forEach((plot) => {
  const name = plot.id || (plot.parentElement && plot.parentElement.id) || 'chart';
  const svg = plot.querySelector('svg.main-svg');
  if (!svg) { problems.push(`${name}: not drawn`); return; }
  const chart = svg.getBoundingClientRect();
  const card = (plot.closest('.card') || plot.parentElement).getBoundingClientRect();
  if (chart.left < card.left - 1 || chart.right > card.right + 1) {
    problems.push(`${name}: ${Math.round(chart.width)} px wide, wider than its card (${Math.round(card.width)} px)`);
  }
  plot.querySelectorAll('.xtick text, .ytick text, .legendtext, .g-xtitle text, .g-ytitle text, .annotation-text')
    .forEach((label) => {
      const box = label.getBoundingClientRect();
      if (box.width === 0 && box.height === 0) return;
      if (!inside(box, chart)) problems.push(`${name}: '${label.textContent}' is cut off by the chart`);
      else if (!inside(box, card)) problems.push(`${name}: '${label.textContent}' is cut off by its card`);
    });
});
return problems;
