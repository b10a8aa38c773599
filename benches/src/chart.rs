//! Throughput against payload size, one line per implementation, as SVG (plotters' SVG
//! backend; the text is left to the viewer's fonts, no font file is read).

use std::path::Path;

use plotters::prelude::*;

use crate::harness::{size_label, Measured};

/// One colour per implementation, the same in every panel; variants of one (another API,
/// another setting) are dashed.
fn style_of(name: &str) -> (RGBColor, bool) {
    let color = [
        ("memcpy", RGBColor(120, 120, 120)),
        ("wsmachine", RGBColor(214, 39, 40)),
        ("tungstenite", RGBColor(31, 119, 180)),
        ("fastwebsockets", RGBColor(44, 160, 44)),
        ("embedded-websocket", RGBColor(148, 103, 189)),
        ("nexus-web", RGBColor(255, 127, 14)),
    ]
    .iter()
    .find(|(prefix, _)| name.starts_with(prefix))
    .map_or(BLACK, |c| c.1);
    let variant = ["in place", "apply_mask", "read_buffer_size"]
        .iter()
        .any(|v| name.contains(v));
    (color, variant)
}

/// One chart per group in `groups` (e.g. decode, encode), side by side, from the workloads of
/// that group (one per payload size).
pub fn write(path: &Path, all: &[Measured], groups: &[(&str, &str)]) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let root = SVGBackend::new(path, (560 * groups.len() as u32, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let panels = root.split_evenly((1, groups.len()));
    for ((group, title), area) in groups.iter().zip(panels.iter()) {
        let cols: Vec<&Measured> = all.iter().filter(|m| m.group == *group).collect();
        let mut names: Vec<&str> = Vec::new();
        for m in &cols {
            for (n, _, _) in &m.rows {
                if !names.contains(&n.as_str()) {
                    names.push(n);
                }
            }
        }
        let points = |name: &str| -> Vec<(f64, f64)> {
            cols.iter()
                .filter_map(|m| {
                    let ns = m.rows.iter().find(|r| r.0 == name)?.2.ok()?;
                    Some((m.payload as f64, m.payload as f64 / ns))
                })
                .collect()
        };
        let all_y: Vec<f64> = names.iter().flat_map(|n| points(n)).map(|p| p.1).collect();
        let (lo, hi) = all_y
            .iter()
            .fold((f64::INFINITY, 0f64), |(lo, hi), &y| (lo.min(y), hi.max(y)));
        let (x0, x1) = cols.iter().fold((f64::INFINITY, 0f64), |(a, b), m| {
            (a.min(m.payload as f64), b.max(m.payload as f64))
        });
        // Room below the lowest line at large payloads for the legend.
        let lo = (lo / 1.5).min(hi / 3000.0);
        let sizes: Vec<f64> = cols.iter().map(|m| m.payload as f64).collect();
        let mut chart = ChartBuilder::on(area)
            .caption(*title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(52)
            .build_cartesian_2d(
                (x0 / 1.5..x1 * 1.5).log_scale().with_key_points(sizes),
                (lo..hi * 1.5).log_scale(),
            )
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("payload per message")
            .y_desc("GB/s (log)")
            .x_label_formatter(&|x| size_label(x.round() as usize))
            .y_label_formatter(&|y| {
                if *y >= 1.0 {
                    format!("{y:.0}")
                } else {
                    format!("{y}")
                }
            })
            .draw()
            .map_err(|e| err(&e))?;
        for name in &names {
            let (color, dashed) = style_of(name);
            let pts = points(name);
            let width = if name.starts_with("wsmachine") { 3 } else { 2 };
            let line = color.stroke_width(width);
            let series = if dashed {
                chart.draw_series(DashedLineSeries::new(pts.clone(), 6, 4, line))
            } else {
                chart.draw_series(LineSeries::new(pts.clone(), line))
            };
            series
                .map_err(|e| err(&e))?
                .label(*name)
                .legend(move |(x, y)| {
                    if dashed {
                        PathElement::new(vec![(x, y), (x + 5, y)], line)
                    } else {
                        PathElement::new(vec![(x, y), (x + 16, y)], line)
                    }
                });
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(|e| err(&e))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 12))
            .draw()
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
