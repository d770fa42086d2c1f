//! Sends the requests of [`GroupMember`](crate::consumer::group::GroupMember) to the right
//! broker at a negotiated version.

use std::time::Duration;

use kafka_protocol::generated::{
    ConsumerGroupHeartbeatRequest, HeartbeatRequest, JoinGroupRequest, LeaveGroupRequest,
    OffsetCommitRequest, OffsetFetchRequest, SyncGroupRequest,
};
use kafka_protocol::Request;

use crate::conn::ThrottleTime;
use crate::consumer::group::wire;
use crate::consumer::group::{GroupRequest, GroupResponse, Outgoing};
use crate::error::{KafkaError, Result};
use crate::net::BrokerConnection;
use crate::Client;

/// Sends `req` at `version`, with a longer timeout when the broker may hold it.
async fn call<R: Request>(
    conn: &BrokerConnection,
    req: &R,
    version: i16,
    timeout: Option<Duration>,
) -> Result<R::Response>
where
    R::Response: ThrottleTime,
{
    match timeout {
        None => conn.send_versioned(req, version).await,
        Some(t) => conn
            .submit(req, version, true, t)?
            .wait()
            .await?
            .ok_or_else(|| KafkaError::Protocol("expected a response".into())),
    }
}

/// The connection to the coordinator; refreshes metadata once when the node is not known yet.
async fn coordinator(client: &Client, node: i32) -> Result<std::sync::Arc<BrokerConnection>> {
    match client.connection(node).await {
        Ok(c) => Ok(c),
        Err(KafkaError::InvalidArgument(_)) => {
            client.refresh_metadata(Some(&[])).await?;
            client.connection(node).await
        }
        Err(e) => Err(e),
    }
}

/// Sends one group request and returns the response.
pub(crate) async fn send(client: Client, group: String, out: Outgoing) -> Result<GroupResponse> {
    let node = match (&out.request, out.node) {
        (GroupRequest::FindCoordinator, _) => {
            let r = client
                .send_any_with(|v| wire::find_coordinator(&group, v))
                .await?;
            return Ok(GroupResponse::FindCoordinator(r));
        }
        (_, Some(node)) => node,
        (_, None) => {
            return Err(KafkaError::Protocol(
                "group request without a coordinator".into(),
            ))
        }
    };
    let conn = coordinator(&client, node).await?;
    let t = out.timeout;
    Ok(match out.request {
        GroupRequest::FindCoordinator => unreachable!("handled above"),
        GroupRequest::JoinGroup(mut r) => {
            let v = conn.version_of::<JoinGroupRequest>()?;
            // Fields older versions lack (the encoder refuses non-default values there).
            if v < 8 {
                r.reason = None;
            }
            if v < 5 {
                r.group_instance_id = None;
            }
            GroupResponse::JoinGroup(call(&conn, &r, v, t).await?)
        }
        GroupRequest::SyncGroup(mut r) => {
            let v = conn.version_of::<SyncGroupRequest>()?;
            if v < 5 {
                r.protocol_type = None;
                r.protocol_name = None;
            }
            if v < 3 {
                r.group_instance_id = None;
            }
            GroupResponse::SyncGroup(call(&conn, &r, v, t).await?)
        }
        GroupRequest::Heartbeat(mut r) => {
            let v = conn.version_of::<HeartbeatRequest>()?;
            if v < 3 {
                r.group_instance_id = None;
            }
            GroupResponse::Heartbeat(call(&conn, &r, v, t).await?)
        }
        GroupRequest::LeaveGroup(mut r) => {
            let v = conn.version_of::<LeaveGroupRequest>()?;
            // KIP-345: v3 replaced the single member id with a list of members.
            if v >= 3 {
                r.member_id = Default::default();
                if v < 5 {
                    for m in &mut r.members {
                        m.reason = None;
                    }
                }
            } else {
                r.members.clear();
            }
            GroupResponse::LeaveGroup(call(&conn, &r, v, t).await?)
        }
        GroupRequest::ConsumerGroupHeartbeat(r) => {
            let v = conn.version_of::<ConsumerGroupHeartbeatRequest>()?;
            GroupResponse::ConsumerGroupHeartbeat(call(&conn, &r, v, t).await?)
        }
        GroupRequest::OffsetCommit {
            generation,
            member_id,
            instance_id,
            offsets,
        } => {
            let v = conn
                .version_of::<OffsetCommitRequest>()?
                .min(wire::OFFSET_COMMIT_MAX);
            let r = wire::offset_commit(
                &group,
                generation,
                &member_id,
                instance_id.as_deref(),
                &offsets,
                v,
            );
            GroupResponse::OffsetCommit(call(&conn, &r, v, t).await?)
        }
        GroupRequest::OffsetFetch { partitions, member } => {
            let v = conn
                .version_of::<OffsetFetchRequest>()?
                .min(wire::OFFSET_FETCH_MAX);
            let r = wire::offset_fetch(
                &group,
                &partitions,
                member.as_ref().map(|(m, e)| (m.as_str(), *e)),
                v,
            );
            GroupResponse::OffsetFetch(call(&conn, &r, v, t).await?)
        }
    })
}
