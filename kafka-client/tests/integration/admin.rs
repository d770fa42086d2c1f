//! The admin client against the real broker.

use kafka_client::admin::{
    Admin, AlterConfigOp, ConfigResource, ConfigSource, NewTopic, OffsetSpec,
};
use kafka_protocol::ErrorCode;

use crate::common;

async fn admin() -> Admin {
    Admin::new(common::client().await)
}

#[tokio::test]
async fn topic_lifecycle() {
    let admin = admin().await;
    let name = common::unique_topic("admin-life");
    admin
        .create_topic(
            NewTopic::new(&name)
                .partitions(2)
                .config("retention.ms", "3600000"),
        )
        .await
        .unwrap();
    let again = admin.create_topic(NewTopic::new(&name)).await.unwrap_err();
    assert_eq!(
        again.code(),
        Some(ErrorCode::TOPIC_ALREADY_EXISTS),
        "{again}"
    );
    common::eventually("topic listed", || async {
        admin
            .list_topics(false)
            .await
            .unwrap()
            .contains(&name)
            .then_some(())
    })
    .await;
    assert!(!admin
        .list_topics(false)
        .await
        .unwrap()
        .iter()
        .any(|t| t.starts_with("__")));

    let d = admin.describe_topics(&[&name]).await.unwrap();
    assert_eq!(d[0].partitions.len(), 2);
    assert_ne!(d[0].id, kafka_protocol::codec::Uuid::ZERO);

    admin.create_partitions(&name, 3).await.unwrap();
    common::eventually("3 partitions", || async {
        let d = admin.describe_topics(&[&name]).await.unwrap();
        (d[0].partitions.len() == 3).then_some(())
    })
    .await;
    let shrink = admin.create_partitions(&name, 1).await.unwrap_err();
    assert_eq!(
        shrink.code(),
        Some(ErrorCode::INVALID_PARTITIONS),
        "{shrink}"
    );

    // Configs: the override we set is reported as a topic config; alter and delete it.
    let res = ConfigResource::Topic(name.clone());
    let cfg = admin
        .describe_configs(&res, Some(&["retention.ms"]))
        .await
        .unwrap();
    assert_eq!(cfg.len(), 1);
    assert_eq!(cfg[0].value.as_deref(), Some("3600000"));
    assert_eq!(cfg[0].source, ConfigSource::DynamicTopic);
    admin
        .incremental_alter_configs(
            &res,
            &[AlterConfigOp::Set("retention.ms".into(), "7200000".into())],
        )
        .await
        .unwrap();
    // The broker applies an alteration through the metadata log (KRaft), so a describe right
    // after the response may still see the old value: wait for it.
    common::eventually("retention.ms altered", || async {
        let cfg = admin
            .describe_configs(&res, Some(&["retention.ms"]))
            .await
            .unwrap();
        (cfg[0].value.as_deref() == Some("7200000")).then_some(())
    })
    .await;
    admin
        .incremental_alter_configs(&res, &[AlterConfigOp::Delete("retention.ms".into())])
        .await
        .unwrap();
    common::eventually("retention.ms override deleted", || async {
        let cfg = admin
            .describe_configs(&res, Some(&["retention.ms"]))
            .await
            .unwrap();
        (cfg[0].source != ConfigSource::DynamicTopic).then_some(())
    })
    .await;
    let bad = admin
        .incremental_alter_configs(
            &res,
            &[AlterConfigOp::Set("no.such.config".into(), "1".into())],
        )
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some(ErrorCode::INVALID_CONFIG), "{bad}");

    // Empty topic: earliest == latest == 0.
    let offs = admin
        .list_offsets(&name, &[(0, OffsetSpec::Earliest), (1, OffsetSpec::Latest)])
        .await
        .unwrap();
    assert_eq!((offs[0].offset, offs[1].offset), (0, 0));

    admin.delete_topic(&name).await.unwrap();
    let gone = admin.delete_topic(&name).await.unwrap_err();
    assert_eq!(
        gone.code(),
        Some(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION),
        "{gone}"
    );
}

#[tokio::test]
async fn describe_cluster_and_broker_configs() {
    let admin = admin().await;
    let c = admin.describe_cluster().await.unwrap();
    assert_eq!(c.brokers.len(), 1);
    assert!(!c.cluster_id.is_empty());
    let node = c.brokers[0].node_id;
    let cfg = admin
        .describe_configs(&ConfigResource::Broker(node), Some(&["num.partitions"]))
        .await
        .unwrap();
    assert_eq!(cfg[0].name, "num.partitions");
    assert!(cfg[0].value.is_some());
}
