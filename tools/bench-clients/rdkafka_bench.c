/*
 * librdkafka side of tools/bench-clients.sh: a C driver over librdkafka's public API, doing what
 * rdkafka_performance does for a fixed count (produce with RD_KAFKA_MSG_F_COPY, serve delivery
 * reports with rd_kafka_poll(rk, 0) after each produce; consume with rd_kafka_consumer_poll). It
 * is C rather than Python so that librdkafka's CPU time is not inflated by an interpreter's
 * per-call cost, which would flatter the comparison.
 *
 *   rdkafka_bench produce BOOTSTRAP TOPIC COUNT SIZE [-X key=value]...
 *   rdkafka_bench consume BOOTSTRAP TOPIC COUNT [-X key=value]...
 *
 * Prints one JSON line: records, seconds (timed window, see below), records_per_sec, and for
 * produce the delivery latency percentiles in ms. Exit 1 if any record failed or was missing.
 * Every setting comes from -X, so the script that runs the three clients keeps them side by side.
 */
#include <librdkafka/rdkafka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Latencies use the coarse clock (ms resolution, like the other two clients' latencies): a
 * full-resolution clock read per record would add CPU time the others do not spend. */
static int64_t coarse_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void die(const char *what, const char *why) {
        fprintf(stderr, "rdkafka_bench: %s: %s\n", what, why);
        exit(2);
}

static rd_kafka_conf_t *conf_from_args(const char *bootstrap, int argc, char **argv) {
        char err[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err)) !=
            RD_KAFKA_CONF_OK)
                die("bootstrap.servers", err);
        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "-X") != 0 || i + 1 >= argc)
                        die("arguments", "expected -X key=value");
                char *kv = argv[++i];
                char *eq = strchr(kv, '=');
                if (!eq)
                        die(kv, "not key=value");
                *eq = '\0';
                if (rd_kafka_conf_set(conf, kv, eq + 1, err, sizeof(err)) != RD_KAFKA_CONF_OK)
                        die(kv, err);
        }
        return conf;
}

/* Delivery reports: count, first error, latency from the send time carried as the opaque. */
static int64_t delivered, failed;
static char first_error[256];
static uint32_t *latencies_us;
static int64_t n_latencies;

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
        (void)rk;
        (void)opaque;
        if (m->err) {
                if (!failed++)
                        snprintf(first_error, sizeof(first_error), "%s", rd_kafka_err2str(m->err));
                return;
        }
        delivered++;
        int64_t lat = coarse_us() - (int64_t)(intptr_t)m->_private;
        latencies_us[n_latencies++] = lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat;
}

static int cmp_u32(const void *a, const void *b) {
        uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
        return (x > y) - (x < y);
}

static double pct(double q) {
        if (!n_latencies)
                return 0;
        return latencies_us[(int64_t)((n_latencies - 1) * q + 0.5)] / 1000.0;
}

static int produce(const char *bootstrap, const char *topic, int64_t count, size_t size, int argc,
                   char **argv) {
        char err[512];
        rd_kafka_conf_t *conf = conf_from_args(bootstrap, argc, argv);
        rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!rk)
                die("rd_kafka_new", err);
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        latencies_us = malloc(sizeof(*latencies_us) * (size_t)count);
        /* The same value as kafka-cli bench produce sends: varied but compressible letters. */
        char *payload = malloc(size);
        for (size_t i = 0; i < size; i++)
                payload[i] = (char)('a' + (i * 7 + i / 13) % 26);

        int64_t start = now_us();
        for (int64_t i = 0; i < count; i++) {
                int64_t sent_at = coarse_us();
                while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, payload,
                                        size, NULL, 0, (void *)(intptr_t)sent_at) == -1) {
                        rd_kafka_resp_err_t e = rd_kafka_last_error();
                        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                                die("produce", rd_kafka_err2str(e));
                        /* Queue full (buffer.memory's counterpart): wait for deliveries. */
                        rd_kafka_poll(rk, 10);
                }
                rd_kafka_poll(rk, 0);
        }
        rd_kafka_flush(rk, 120 * 1000);
        double secs = (now_us() - start) / 1e6;
        qsort(latencies_us, (size_t)n_latencies, sizeof(*latencies_us), cmp_u32);
        printf("{\"client\":\"librdkafka %s\",\"records\":%" PRId64 ",\"seconds\":%.3f,"
               "\"records_per_sec\":%.1f,\"latency_ms\":{\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f},"
               "\"failed\":%" PRId64 "}\n",
               rd_kafka_version_str(), delivered, secs, delivered / secs, pct(0.5), pct(0.99),
               pct(1.0), failed);
        if (failed || delivered != count)
                fprintf(stderr, "rdkafka_bench: %" PRId64 " of %" PRId64 " delivered; first error: %s\n",
                        delivered, count, first_error);
        rd_kafka_topic_destroy(rkt);
        rd_kafka_destroy(rk);
        return failed || delivered != count;
}

static int consume(const char *bootstrap, const char *topic, int64_t count, int argc, char **argv) {
        char err[512];
        rd_kafka_conf_t *conf = conf_from_args(bootstrap, argc, argv);
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
        if (!rk)
                die("rd_kafka_new", err);
        rd_kafka_poll_set_consumer(rk);
        const rd_kafka_metadata_t *md;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
        if (e)
                die("metadata", rd_kafka_err2str(e));
        if (md->topic_cnt != 1 || md->topics[0].err)
                die(topic, "no such topic");
        /* Assigned, not subscribed, as kafka-cli bench consume does: no group join in the
         * timed window. */
        rd_kafka_topic_partition_list_t *parts =
            rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
        for (int p = 0; p < md->topics[0].partition_cnt; p++)
                rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[p].id)
                    ->offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);

        int64_t start = now_us();
        if ((e = rd_kafka_assign(rk, parts)))
                die("assign", rd_kafka_err2str(e));
        int64_t got = 0, bytes = 0, last = start;
        while (got < count) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
                if (!m) {
                        if (now_us() - last > 30 * 1000000LL)
                                break;
                        continue;
                }
                if (m->err) {
                        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                                die("consume", rd_kafka_message_errstr(m));
                } else {
                        got++;
                        bytes += (int64_t)m->len + (int64_t)m->key_len;
                        last = now_us();
                }
                rd_kafka_message_destroy(m);
        }
        double secs = (now_us() - start) / 1e6;
        printf("{\"client\":\"librdkafka %s\",\"records\":%" PRId64 ",\"bytes\":%" PRId64
               ",\"seconds\":%.3f,\"records_per_sec\":%.1f}\n",
               rd_kafka_version_str(), got, bytes, secs, got / secs);
        rd_kafka_topic_partition_list_destroy(parts);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        if (got != count)
                fprintf(stderr, "rdkafka_bench: read %" PRId64 " of %" PRId64 "\n", got, count);
        return got != count;
}

int main(int argc, char **argv) {
        if (argc >= 6 && !strcmp(argv[1], "produce"))
                return produce(argv[2], argv[3], atoll(argv[4]), (size_t)atoll(argv[5]), argc - 6,
                               argv + 6);
        if (argc >= 5 && !strcmp(argv[1], "consume"))
                return consume(argv[2], argv[3], atoll(argv[4]), argc - 5, argv + 5);
        fprintf(stderr, "usage: rdkafka_bench produce BOOTSTRAP TOPIC COUNT SIZE [-X k=v]...\n"
                        "       rdkafka_bench consume BOOTSTRAP TOPIC COUNT [-X k=v]...\n");
        return 2;
}
