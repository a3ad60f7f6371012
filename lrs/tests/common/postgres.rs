//! A fresh PostgreSQL schema per test, in the database `LRS_TEST_POSTGRES` names.

/// Creates a schema named after `prefix`, the process and the time; returns a `postgres://` URI
/// whose connections use it.
pub async fn fresh_schema(connection: &str, prefix: &str) -> String {
    let config: tokio_postgres::Config = connection.parse().expect("LRS_TEST_POSTGRES");
    let (client, driver) = config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connecting to PostgreSQL");
    tokio::spawn(driver);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("{prefix}_{}_{nanos}", std::process::id());
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("creating a schema");
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres");
    let password = config
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .unwrap_or_default();
    let db = config.get_dbname().unwrap_or(user);
    format!("postgres://{user}:{password}@{host}:{port}/{db}?options=-csearch_path%3D{schema}")
}
