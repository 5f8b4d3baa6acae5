//! Server-rendered SVG charts (the staff dashboard, the resident's points per month): horizontal
//! bars (one figure per named thing), columns and lines (figures over time, up to a few series). No script and no style
//! attribute (the Content-Security-Policy forbids inline styles): colours are the style sheet's
//! `.chart .s0`, `.s1`, … classes. Each chart scales to its container (a `viewBox`), names
//! itself for screen readers (`role="img"` and a `<title>`), and the page puts its table beside
//! it, so nothing is only in the picture.

use std::fmt::Write;

/// One series of figures, one per label.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub values: Vec<i64>,
}

const WIDTH: i64 = 640;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The axis' top: the smallest of 1, 2 or 5 × 10ⁿ at or above `max` (at least 1).
pub fn nice_max(max: i64) -> i64 {
    let max = max.max(1);
    let mut step = 1i64;
    loop {
        for m in [1, 2, 5] {
            if step.saturating_mul(m) >= max {
                return step.saturating_mul(m);
            }
        }
        step = step.saturating_mul(10);
    }
}

/// Thousands separated, as the tables show them.
pub fn grouped(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0 {
        out.insert(0, '-');
    }
    out
}

/// A label cut to `max` characters (the table beside shows it whole).
fn short(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        let mut s: String = label.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

fn open(svg: &mut String, id: &str, title: &str, height: i64) {
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{id}-t" xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{}</title>"#,
        esc(title)
    );
}

/// Horizontal bars, one per label, the value written at each bar's end. An empty chart says
/// `empty` in its middle.
pub fn bars(id: &str, title: &str, labels: &[String], values: &[i64], empty: &str) -> String {
    let row = 26;
    let top = 8;
    let nothing = labels.is_empty() || values.iter().all(|v| *v == 0);
    let height = if nothing {
        80
    } else {
        (top * 2 + row * labels.len() as i64).max(60)
    };
    let mut svg = String::new();
    open(&mut svg, id, title, height);
    let label_w = 170;
    let plot_w = WIDTH - label_w - 70;
    let max = nice_max(values.iter().copied().max().unwrap_or(0));
    if nothing {
        return nothing_to_draw(svg, height, empty);
    }
    for (i, (label, v)) in labels.iter().zip(values).enumerate() {
        let y = top + row * i as i64;
        let w = if *v > 0 { (v * plot_w / max).max(2) } else { 0 };
        let _ = write!(
            svg,
            r#"<text class="label" x="{}" y="{}" text-anchor="end">{}</text><rect class="s0" x="{label_w}" y="{}" width="{w}" height="{}"><title>{}: {}</title></rect><text class="value" x="{}" y="{}">{}</text>"#,
            label_w - 8,
            y + 17,
            esc(&short(label, 12)),
            y + 4,
            row - 8,
            esc(label),
            grouped(*v),
            label_w + w + 6,
            y + 17,
            grouped(*v)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The frame of a chart over time: horizontal grid lines at quarters of `max` (a multiple of
/// four, so that every line is a round figure) with their values, and every label
/// that fits under the x axis. Returns the plot's (left, top, width, height).
fn time_axes(svg: &mut String, labels: &[String], max: i64, height: i64) -> (i64, i64, i64, i64) {
    let (left, top, right, bottom) = (56, 28, 12, 34);
    let (w, h) = (WIDTH - left - right, height - top - bottom);
    for g in 0..=4 {
        let y = top + h - h * g / 4;
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{left}" x2="{}" y1="{y}" y2="{y}"/><text class="axis" x="{}" y="{}" text-anchor="end">{}</text>"#,
            left + w,
            left - 6,
            y + 4,
            grouped(max * g / 4)
        );
    }
    let n = labels.len().max(1) as i64;
    // Labels are about 60 units wide: show every `every`-th so that they never overlap.
    let every = ((60 * n) / w + 1).max(1);
    for (i, l) in labels.iter().enumerate() {
        let i = i as i64;
        if i % every == 0 || i == n - 1 && (n - 1) % every > every / 2 {
            let x = left + w * (2 * i + 1) / (2 * n);
            let _ = write!(
                svg,
                r#"<text class="axis" x="{x}" y="{}" text-anchor="middle">{}</text>"#,
                top + h + 18,
                esc(&short(l, 10))
            );
        }
    }
    (left, top, w, h)
}

fn legend(svg: &mut String, series: &[Series]) {
    if series.len() < 2 {
        return;
    }
    let mut x = 56;
    for (k, s) in series.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<rect class="s{k}" x="{x}" y="6" width="12" height="12"/><text class="legend" x="{}" y="17">{}</text>"#,
            x + 16,
            esc(&s.name)
        );
        x += 32 + 14 * s.name.chars().count() as i64;
    }
}

/// Where a chart over time draws: its plot area and the value at the top of its axis.
struct Plot {
    left: i64,
    top: i64,
    w: i64,
    h: i64,
    max: i64,
}

const TIME_HEIGHT: i64 = 260;

/// The opening of a chart over time (title, legend, axes) and its plot, or, when there is no
/// figure above zero, the whole chart saying `empty`.
fn time_frame(
    id: &str,
    title: &str,
    labels: &[String],
    series: &[Series],
    empty: &str,
) -> Result<(String, Plot), String> {
    let mut svg = String::new();
    open(&mut svg, id, title, TIME_HEIGHT);
    let max_v = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0);
    if labels.is_empty() || max_v <= 0 {
        return Err(nothing_to_draw(svg, TIME_HEIGHT, empty));
    }
    let max = 4 * nice_max((max_v + 3) / 4);
    legend(&mut svg, series);
    let (left, top, w, h) = time_axes(&mut svg, labels, max, TIME_HEIGHT);
    Ok((
        svg,
        Plot {
            left,
            top,
            w,
            h,
            max,
        },
    ))
}

/// Close a chart that has nothing to draw with `empty` in its middle.
fn nothing_to_draw(mut svg: String, height: i64, empty: &str) -> String {
    let _ = write!(
        svg,
        r#"<text class="empty" x="{}" y="{}" text-anchor="middle">{}</text></svg>"#,
        WIDTH / 2,
        height / 2 + 5,
        esc(empty)
    );
    svg
}

/// Columns over time: one group per label, one column per series.
pub fn columns(id: &str, title: &str, labels: &[String], series: &[Series], empty: &str) -> String {
    let (
        mut svg,
        Plot {
            left,
            top,
            w,
            h,
            max,
        },
    ) = match time_frame(id, title, labels, series, empty) {
        Ok(frame) => frame,
        Err(nothing) => return nothing,
    };
    let n = labels.len() as i64;
    let slot = w / n.max(1);
    let k = series.len().max(1) as i64;
    let col = ((slot * 7 / 10) / k).max(1);
    for (si, s) in series.iter().enumerate() {
        for (i, v) in s.values.iter().enumerate() {
            if *v <= 0 {
                continue;
            }
            let bh = (v * h / max).max(1);
            let x = left + slot * i as i64 + (slot - col * k) / 2 + col * si as i64;
            let _ = write!(
                svg,
                r#"<rect class="s{si}" x="{x}" y="{}" width="{col}" height="{bh}"><title>{} {}: {}</title></rect>"#,
                top + h - bh,
                esc(&labels[i]),
                esc(&s.name),
                grouped(*v)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Lines over time, one per series, with a dot at each figure.
pub fn lines(id: &str, title: &str, labels: &[String], series: &[Series], empty: &str) -> String {
    let (
        mut svg,
        Plot {
            left,
            top,
            w,
            h,
            max,
        },
    ) = match time_frame(id, title, labels, series, empty) {
        Ok(frame) => frame,
        Err(nothing) => return nothing,
    };
    let n = labels.len() as i64;
    for (si, s) in series.iter().enumerate() {
        let points: Vec<(i64, i64)> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                (
                    left + w * (2 * i as i64 + 1) / (2 * n),
                    top + h - v * h / max,
                )
            })
            .collect();
        let path: Vec<String> = points.iter().map(|(x, y)| format!("{x},{y}")).collect();
        let _ = write!(
            svg,
            r#"<polyline class="line s{si}" points="{}"/>"#,
            path.join(" ")
        );
        for (i, (x, y)) in points.iter().enumerate() {
            let _ = write!(
                svg,
                r#"<circle class="s{si}" cx="{x}" cy="{y}" r="3"><title>{} {}: {}</title></circle>"#,
                esc(&labels[i]),
                esc(&s.name),
                grouped(s.values[i])
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_tops_are_round_and_never_below_the_largest_figure() {
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(7), 10);
        assert_eq!(nice_max(11), 20);
        assert_eq!(nice_max(200), 200);
        assert_eq!(nice_max(201), 500);
        assert_eq!(nice_max(1_260_000), 2_000_000);
        assert_eq!(grouped(1_260_000), "1,260,000");
        assert_eq!(grouped(-999), "-999");
    }

    #[test]
    fn bars_are_as_long_as_their_figures_and_labels_are_escaped() {
        let svg = bars(
            "c",
            "积分 <按类别>",
            &["见义勇为".into(), "A&B".into()],
            &[50, 100],
            "无数据",
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("积分 &lt;按类别&gt;"));
        assert!(svg.contains("A&amp;B"));
        assert!(!svg.contains("style="));
        // The larger figure's bar is twice the other's (the axis top is 100).
        let widths: Vec<i64> = svg
            .match_indices("width=\"")
            .map(|(i, _)| {
                let rest = &svg[i + 7..];
                rest[..rest.find('"').unwrap()].parse().unwrap()
            })
            .collect();
        assert_eq!(widths.len(), 2);
        assert_eq!(widths[1], 2 * widths[0]);
        assert!(bars("e", "t", &[], &[], "无数据").contains("无数据"));
    }

    #[test]
    fn columns_and_lines_draw_one_mark_per_figure() {
        let labels: Vec<String> = (1..=12).map(|m| format!("2026-{m:02}")).collect();
        let a = Series {
            name: "扫码".into(),
            values: (1..=12).collect(),
        };
        let b = Series {
            name: "兑换".into(),
            values: vec![0; 12],
        };
        let svg = columns("c", "t", &labels, &[a.clone(), b.clone()], "无数据");
        assert_eq!(
            svg.matches("<rect class=\"s0\" x=").count(),
            12 + 1,
            "12 columns and a legend key"
        );
        // Grid lines at round figures: 12 is drawn against 0, 5, 10, 15, 20.
        for v in ["0", "5", "10", "15", "20"] {
            assert!(
                svg.contains(&format!("text-anchor=\"end\">{v}</text>")),
                "{v}"
            );
        }
        let svg = lines("l", "t", &labels, &[a, b], "无数据");
        assert_eq!(svg.matches("<circle").count(), 24);
        assert_eq!(svg.matches("<polyline").count(), 2);
    }
}
