//! Requests to the document resources (State, Activity Profile, Agent Profile) for the HTTP
//! tests: parameter builders and a client bound to one credential and one xAPI version.

use reqwest::{Method, Response};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use super::TestLrs;

pub const STATE: &str = "/activities/state";
pub const ACTIVITY_PROFILE: &str = "/activities/profile";
pub const AGENT_PROFILE: &str = "/agents/profile";
pub const ACTIVITY: &str = "https://drill.example.jp/units/sci-p4-moon";
pub const REGISTRATION: &str = "6f1b1e6c-0d4b-4c52-9a4e-3c7e0f1d2a3b";

pub fn learner() -> String {
    json!({"objectType": "Agent", "account": {"homePage": "https://eportal.example.jp", "name": "生徒-0001"}})
        .to_string()
}

pub type Params = Vec<(&'static str, String)>;

pub fn state_params(state_id: &str) -> Params {
    vec![
        ("activityId", ACTIVITY.to_owned()),
        ("agent", learner()),
        ("stateId", state_id.to_owned()),
    ]
}

pub fn activity_profile_params(profile_id: &str) -> Params {
    vec![
        ("activityId", ACTIVITY.to_owned()),
        ("profileId", profile_id.to_owned()),
    ]
}

pub fn agent_profile_params(profile_id: &str) -> Params {
    vec![("agent", learner()), ("profileId", profile_id.to_owned())]
}

pub fn without(params: &Params, name: &str) -> Params {
    params.iter().filter(|(k, _)| *k != name).cloned().collect()
}

pub fn with(params: &Params, name: &'static str, value: &str) -> Params {
    let mut out = without(params, name);
    out.push((name, value.to_owned()));
    out
}

/// Requests to one LRS in one xAPI version, with optional extra headers.
pub struct Client<'a> {
    lrs: &'a TestLrs,
    version: &'static str,
    key: String,
    secret: String,
}

impl<'a> Client<'a> {
    pub fn new(lrs: &'a TestLrs, version: &'static str) -> Client<'a> {
        Client {
            lrs,
            version,
            key: lrs.key.clone(),
            secret: lrs.secret.clone(),
        }
    }

    pub fn as_credential(
        lrs: &'a TestLrs,
        version: &'static str,
        (key, secret): (String, String),
    ) -> Client<'a> {
        Client {
            lrs,
            version,
            key,
            secret,
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        params: &Params,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Response {
        let mut request = self
            .lrs
            .request_as(method, path, &self.key, &self.secret, self.version)
            .query(params);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some((content_type, body)) = body {
            request = request.header("Content-Type", content_type).body(body);
        }
        request.send().await.unwrap()
    }

    pub async fn json(
        &self,
        method: Method,
        path: &str,
        params: &Params,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Response {
        let bytes = serde_json::to_vec(body).unwrap();
        self.send(
            method,
            path,
            params,
            headers,
            Some(("application/json", bytes)),
        )
        .await
    }

    pub async fn get(&self, path: &str, params: &Params) -> Response {
        self.send(Method::GET, path, params, &[], None).await
    }

    pub async fn get_json(&self, path: &str, params: &Params) -> Value {
        let response = self.get(path, params).await;
        assert_eq!(response.status(), 200, "GET {path} {params:?}");
        response.json().await.unwrap()
    }

    pub async fn etag(&self, path: &str, params: &Params) -> String {
        let response = self.get(path, params).await;
        assert_eq!(response.status(), 200);
        header(&response, "ETag")
    }
}

pub fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
        .to_owned()
}

pub fn sha1_hex(body: &[u8]) -> String {
    Sha1::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
