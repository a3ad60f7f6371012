//! The browser harness itself (`common/browser.rs`): the checks the dashboard tests rely on can
//! fail. A page that logs a console error is seen to; a clean page is seen to be clean; a
//! screenshot is a PNG of the requested width.

mod common;

use common::browser::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_harness_sees_console_errors_reads_japanese_text_and_saves_screenshots() {
    let Some(browser) = Browser::start(390).await else {
        return;
    };
    browser
        .open("data:text/html;charset=utf-8,<html lang=ja><body><p id=t>学習ログ 1,234件</p></body></html>")
        .await;
    assert_eq!(browser.text("#t").await, "学習ログ 1,234件");
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
    let path = browser.screenshot("harness-390").await;
    let png = std::fs::read(&path).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert_eq!(width, 390, "{}", path.display());

    browser
        .open("data:text/html,<script>console.error('broken on purpose')</script>")
        .await;
    let errors = browser.console_errors().await;
    assert!(
        errors.iter().any(|e| e.contains("broken on purpose")),
        "{errors:?}"
    );
    browser.close().await;
}
