//! Third-party browser code the dashboard serves, embedded in the binary so that nothing is
//! fetched from the internet at run time: [uPlot](https://github.com/leeoniya/uPlot) (MIT), the
//! version `npm/package-lock.json` pins, fetched by `build.rs` at build time.

include!(concat!(env!("OUT_DIR"), "/charts.rs"));

/// uPlot's browser build (defines the global `uPlot`); empty when [`CHARTS`] is false.
pub const UPLOT_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/uPlot.iife.min.js"));

/// uPlot's stylesheet; empty when [`CHARTS`] is false.
pub const UPLOT_CSS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/uPlot.min.css"));

/// The pinned uPlot version (as `npm/package.json` names it).
pub const UPLOT_VERSION: &str = "1.6.32";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_chart_library_is_the_pinned_uplot_or_absent_and_declared_so() {
        let lock = include_str!("../npm/package-lock.json");
        assert!(lock.contains(&format!("\"version\": \"{UPLOT_VERSION}\"")));
        if CHARTS {
            let js = std::str::from_utf8(UPLOT_JS).expect("UTF-8");
            assert!(js.contains("uPlot"), "uPlot's browser build");
            assert!(js.contains(UPLOT_VERSION), "the pinned version's banner");
            assert!(!UPLOT_CSS.is_empty());
        } else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI builds embed the charts"
            );
            assert!(UPLOT_JS.is_empty() && UPLOT_CSS.is_empty());
        }
    }
}
