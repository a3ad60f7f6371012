//! Suite: attachment data, deduplicated by hash, per tenant.

use bytes::Bytes;

use super::SuiteStore;
use crate::AttachmentBody;

fn attachment(sha2: &str, content_type: &str, body: &[u8]) -> AttachmentBody {
    AttachmentBody {
        sha2: sha2.into(),
        content_type: content_type.into(),
        body: Bytes::copy_from_slice(body),
    }
}

/// The store does not hash: these hashes only need to be distinct keys.
const A: &str = "aa00000000000000000000000000000000000000000000000000000000000001";
const B: &str = "bb00000000000000000000000000000000000000000000000000000000000002";
const C: &str = "cc00000000000000000000000000000000000000000000000000000000000003";

pub async fn attachments_round_trip_byte_for_byte_in_request_order<S: SuiteStore>(store: &S) {
    let tenant = "suite-attachments";
    // Binary, not UTF-8, and large enough to leave the index (blob files in fjall).
    let large: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let small = attachment(A, "text/plain", b"here is a simple attachment");
    let big = attachment(B, "image/jpeg", &large);
    store
        .put_attachments(tenant, &[small.clone(), big.clone()])
        .await
        .unwrap();
    let got = store
        .get_attachments(tenant, &[B.into(), C.into(), A.into()])
        .await
        .unwrap();
    assert_eq!(got, vec![Some(big), None, Some(small)]);
    assert!(store.get_attachments(tenant, &[]).await.unwrap().is_empty());
}

pub async fn attachments_are_kept_once_per_hash_and_first_write_wins<S: SuiteStore>(store: &S) {
    let tenant = "suite-attachment-dedup";
    let first = attachment(A, "text/plain", b"same bytes");
    store
        .put_attachments(tenant, std::slice::from_ref(&first))
        .await
        .unwrap();
    store
        .put_attachments(
            tenant,
            &[
                attachment(A, "text/markdown", b"same bytes"),
                attachment(A, "text/csv", b"same bytes"),
            ],
        )
        .await
        .unwrap();
    let got = store.get_attachments(tenant, &[A.into()]).await.unwrap();
    assert_eq!(got, vec![Some(first)]);
    store.put_attachments(tenant, &[]).await.unwrap();
}

pub async fn attachment_hashes_are_looked_up_case_insensitively<S: SuiteStore>(store: &S) {
    let tenant = "suite-attachment-case";
    store
        .put_attachments(tenant, &[attachment(A, "text/plain", b"x")])
        .await
        .unwrap();
    let got = store
        .get_attachments(tenant, &[A.to_ascii_uppercase()])
        .await
        .unwrap();
    assert_eq!(got[0].as_ref().map(|a| a.sha2.as_str()), Some(A));
}

pub async fn tenants_never_see_each_others_attachments<S: SuiteStore>(store: &S) {
    store
        .put_attachments("suite-attachment-a", &[attachment(A, "text/plain", b"a")])
        .await
        .unwrap();
    let got = store
        .get_attachments("suite-attachment-b", &[A.into()])
        .await
        .unwrap();
    assert_eq!(got, vec![None]);
    // A tenant whose name extends another's is another tenant.
    let got = store
        .get_attachments("suite-attachment-aa", &[A.into()])
        .await
        .unwrap();
    assert_eq!(got, vec![None]);
}
