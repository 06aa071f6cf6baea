#!/usr/bin/env bash
# Deploys daily-kpis to a Google Cloud project. Safe to run again: every step first looks for what
# it would create, and the rest (API enabling, IAM bindings, function deploys) is idempotent.
#
#   ./deploy.sh --project P --region R [--dry-run] [options]   (--help for all of them)
#
# Needs gcloud and bq (Google Cloud SDK), logged in with rights to create these resources, and a
# built checkout (`npm install`), which writes the BigQuery table schemas.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: ./deploy.sh --project PROJECT_ID --region REGION [options]

Creates or updates, in order:
  APIs; BigQuery datasets and tables (partitioned, clustered, described); a dry run of every
  table and check query (`kpis validate`: any problem stops the deploy here); Pub/Sub topics
  daily-kpis-trigger, -completed, -heartbeat, -alerts and -dead-letter, with subscriptions that
  keep dead-lettered messages and alerts; one service account per function with least privilege;
  the Slack webhook secret (with --slack-webhook); the functions etl, kpi-monitor, log-monitor
  (2nd gen, nodejs22, retry on failure, bounded delivery attempts, dead-letter topic); and two
  Cloud Scheduler jobs: the daily trigger and the hourly heartbeat.

Options:
  --project ID         Google Cloud project (required)
  --region R           region of the functions and scheduler jobs (required), e.g. europe-west1
  --bq-location L      BigQuery location of the datasets (default US)
  --schedule CRON      daily trigger schedule (default "0 6 * * *")
  --time-zone TZ       time zone of the schedule (default: the ETL config's time_zone, else UTC)
  --slack-webhook URL  store this Slack webhook URL in Secret Manager (default: $SLACK_WEBHOOK_URL;
                       without either, an existing secret is kept and none is created)
  --max-attempts N     deliveries of a message before it goes to the dead-letter topic (default 5)
  --skip-validate      do not dry-run the queries first (when they were validated otherwise)
  --dry-run            print every command and change nothing (nothing is called)
  -h, --help           this help
USAGE
}

PROJECT=""
REGION=""
BQ_LOCATION="US"
SCHEDULE="0 6 * * *"
TIME_ZONE=""
SLACK_WEBHOOK="${SLACK_WEBHOOK_URL:-}"
MAX_ATTEMPTS=5
DRY_RUN=0
VALIDATE=1

fail() { printf 'deploy.sh: %s\n' "$1" >&2; exit 2; }
need_value() { [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || fail "$1 needs a value (see --help)"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --project) need_value "$@"; PROJECT="$2"; shift 2 ;;
    --region) need_value "$@"; REGION="$2"; shift 2 ;;
    --bq-location) need_value "$@"; BQ_LOCATION="$2"; shift 2 ;;
    --schedule) need_value "$@"; SCHEDULE="$2"; shift 2 ;;
    --time-zone) need_value "$@"; TIME_ZONE="$2"; shift 2 ;;
    --slack-webhook) need_value "$@"; SLACK_WEBHOOK="$2"; shift 2 ;;
    --max-attempts) need_value "$@"; MAX_ATTEMPTS="$2"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --skip-validate) VALIDATE=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) fail "unknown option $1 (see --help)" ;;
  esac
done

[[ -n "$PROJECT" ]] || fail "--project is required (see --help)"
[[ -n "$REGION" ]] || fail "--region is required (see --help)"
[[ "$PROJECT" =~ ^[a-z][a-z0-9-]{4,28}[a-z0-9]$ ]] || fail "--project must be a project id such as my-project-123, got '$PROJECT'"
[[ "$MAX_ATTEMPTS" =~ ^[0-9]+$ && "$MAX_ATTEMPTS" -ge 5 && "$MAX_ATTEMPTS" -le 100 ]] || fail "--max-attempts must be 5 to 100 (Pub/Sub's range), got '$MAX_ATTEMPTS'"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TRIGGER_TOPIC=daily-kpis-trigger
COMPLETED_TOPIC=daily-kpis-completed
HEARTBEAT_TOPIC=daily-kpis-heartbeat
ALERTS_TOPIC=daily-kpis-alerts
DEAD_LETTER_TOPIC=daily-kpis-dead-letter
SLACK_SECRET=daily-kpis-slack-webhook
RUNTIME=nodejs22

# --- running commands ---------------------------------------------------------------------------

# Prints a command as it would be typed; the Slack URL never appears.
show() {
  local line
  line="$(printf '%q ' "$@")"
  if [[ -n "$SLACK_WEBHOOK" ]]; then line="${line//"$(printf '%q' "$SLACK_WEBHOOK")"/'<slack-webhook-url>'}"; fi
  printf '+ %s\n' "${line% }"
}

# Runs a command that changes something; with --dry-run, only prints it.
run() {
  show "$@"
  if [[ $DRY_RUN -eq 0 ]]; then "$@"; fi
}

# True when a read-only lookup finds the resource; with --dry-run nothing is called, so it is taken
# as missing and the command that would create it is printed.
exists() {
  [[ $DRY_RUN -eq 0 ]] || return 1
  "$@" >/dev/null 2>&1
}

# Prints a read-only lookup's answer; with --dry-run, a placeholder naming it.
lookup() {
  local placeholder="$1"; shift
  if [[ $DRY_RUN -eq 1 ]]; then printf '<%s>' "$placeholder"; else "$@"; fi
}

section() { printf '\n== %s\n' "$1"; }

# --- checks -------------------------------------------------------------------------------------

if [[ $DRY_RUN -eq 0 ]]; then
  command -v gcloud >/dev/null || fail "gcloud not found: install the Google Cloud SDK"
  command -v bq >/dev/null || fail "bq not found: install the Google Cloud SDK"
fi
[[ -f "$ROOT/dist/cli/main.js" ]] || fail "dist/ is missing: run npm install (it builds) first"
[[ $DRY_RUN -eq 1 ]] && printf 'Dry run: nothing below is called.\n'

# --- APIs ---------------------------------------------------------------------------------------

section "APIs"
# The daily run fires at the schedule's hour of the business day's zone unless told otherwise.
[[ -n "$TIME_ZONE" ]] || TIME_ZONE="$(node "$ROOT/bin/kpis.js" time-zone)" || fail "cannot read time_zone from the ETL config (above)"

run gcloud services enable cloudfunctions.googleapis.com run.googleapis.com eventarc.googleapis.com \
  cloudbuild.googleapis.com artifactregistry.googleapis.com pubsub.googleapis.com \
  cloudscheduler.googleapis.com bigquery.googleapis.com secretmanager.googleapis.com \
  logging.googleapis.com iam.googleapis.com "--project=$PROJECT"

# --- BigQuery -----------------------------------------------------------------------------------

section "BigQuery datasets and tables"
SCHEMA_DIR="$(mktemp -d)"
trap 'rm -rf "$SCHEMA_DIR"' EXIT
TABLES="$(node "$ROOT/bin/kpis.js" schema --dir "$SCHEMA_DIR")"
SOURCE_DATASETS=(); KPI_DATASETS=(); CHECK_DATASETS=(); LOG_DATASET=""; LOG_TABLE=""; ALERTS_DATASET=""; ALERTS_TABLE=""; DATASETS=()
while IFS=$'\t' read -r role dataset table partition clustering description file; do
  # A table a KPI query reads but daily-kpis does not write: read access only, nothing created.
  if [[ "$role" == reference ]]; then
    [[ " ${SOURCE_DATASETS[*]:-} " == *" $dataset "* ]] || SOURCE_DATASETS+=("$dataset")
    continue
  fi
  # A table a check reads: kpi-monitor reads its dataset; it is created (or not) by its own role.
  if [[ "$role" == check_read ]]; then
    [[ " ${CHECK_DATASETS[*]:-} " == *" $dataset "* ]] || CHECK_DATASETS+=("$dataset")
    continue
  fi
  case "$role" in
    source) [[ " ${SOURCE_DATASETS[*]:-} " == *" $dataset "* ]] || SOURCE_DATASETS+=("$dataset") ;;
    kpi) [[ " ${KPI_DATASETS[*]:-} " == *" $dataset "* ]] || KPI_DATASETS+=("$dataset") ;;
    run_log) LOG_DATASET="$dataset"; LOG_TABLE="$table" ;;
    alerts) ALERTS_DATASET="$dataset"; ALERTS_TABLE="$table" ;;
  esac
  if [[ " ${DATASETS[*]:-} " != *" $dataset "* ]]; then
    DATASETS+=("$dataset")
    exists bq show --format=none "$PROJECT:$dataset" ||
      run bq "--location=$BQ_LOCATION" mk --dataset "--description=daily-kpis: $dataset" "$PROJECT:$dataset"
  fi
  if ! exists bq show --format=none "$PROJECT:$dataset.$table"; then
    args=(bq "--location=$BQ_LOCATION" mk --table "--description=$description")
    [[ "$partition" != "-" ]] && args+=("--time_partitioning_field=$partition" "--time_partitioning_type=DAY")
    [[ "$clustering" != "-" ]] && args+=("--clustering_fields=$clustering")
    run "${args[@]}" "$PROJECT:$dataset.$table" "$file"
  fi
done <<< "$TABLES"

# --- queries ------------------------------------------------------------------------------------

# Every table and check query dry-run on the project's BigQuery once its tables exist (a query may
# read a KPI table), before any topic, account or function: a typo in a user-defined KPI fails
# here, with its file, line and column, and not in tomorrow's run.
if [[ $VALIDATE -eq 1 ]]; then
  section "Queries"
  run env "KPIS_BQ_LOCATION=$BQ_LOCATION" node "$ROOT/bin/kpis.js" validate "--warehouse=bigquery:$PROJECT" ||
    fail "kpis validate found problems in the queries (above); fix them, then deploy again"
fi

# --- Pub/Sub ------------------------------------------------------------------------------------

section "Pub/Sub topics"
for topic in "$TRIGGER_TOPIC" "$COMPLETED_TOPIC" "$HEARTBEAT_TOPIC" "$ALERTS_TOPIC" "$DEAD_LETTER_TOPIC"; do
  exists gcloud pubsub topics describe "$topic" "--project=$PROJECT" || run gcloud pubsub topics create "$topic" "--project=$PROJECT"
done
# Without a subscription, a topic drops what is published to it: these keep dead letters and alerts
# for a week, to read with `gcloud pubsub subscriptions pull`.
for pair in "$DEAD_LETTER_TOPIC:daily-kpis-dead-letter-keep" "$ALERTS_TOPIC:daily-kpis-alerts-pull"; do
  topic="${pair%%:*}"; subscription="${pair##*:}"
  exists gcloud pubsub subscriptions describe "$subscription" "--project=$PROJECT" ||
    run gcloud pubsub subscriptions create "$subscription" "--topic=$topic" --message-retention-duration=7d --expiration-period=never "--project=$PROJECT"
done

# --- service accounts, least privilege ----------------------------------------------------------

section "Service accounts"
# Account names by function (6 to 30 characters); no associative array, for macOS's bash 3.
account() { printf 'kpis-%s' "$1"; }
email() { printf '%s@%s.iam.gserviceaccount.com' "$(account "$1")" "$PROJECT"; }
for fn in etl kpi-monitor log-monitor build; do
  exists gcloud iam service-accounts describe "$(email "$fn")" "--project=$PROJECT" ||
    run gcloud iam service-accounts create "$(account "$fn")" "--display-name=daily-kpis $fn$([[ $fn == build ]] && echo ' (Cloud Build)' || echo ' function')" "--project=$PROJECT"
done
for fn in etl kpi-monitor log-monitor; do
  # Running queries is a project-level right; what a job may read or write is granted per dataset or table.
  run gcloud projects add-iam-policy-binding "$PROJECT" "--member=serviceAccount:$(email "$fn")" --role=roles/bigquery.jobUser --condition=None
done
# Cloud Build builds the functions as its own account, not the project's default one: it writes
# the build's logs and the image, and reads the uploaded source.
for role in roles/logging.logWriter roles/artifactregistry.writer roles/storage.objectViewer; do
  run gcloud projects add-iam-policy-binding "$PROJECT" "--member=serviceAccount:$(email build)" "--role=$role" --condition=None
done

grant_dataset() { run bq add-iam-policy-binding "--member=serviceAccount:$(email "$1")" "--role=$2" "$PROJECT:$3"; }
grant_table() { run bq add-iam-policy-binding --table=true "--member=serviceAccount:$(email "$1")" "--role=$2" "$PROJECT:$3"; }
for dataset in "${SOURCE_DATASETS[@]}"; do grant_dataset etl roles/bigquery.dataViewer "$dataset"; done
for dataset in "${KPI_DATASETS[@]}"; do grant_dataset etl roles/bigquery.dataEditor "$dataset"; done
for dataset in "${CHECK_DATASETS[@]}"; do grant_dataset kpi-monitor roles/bigquery.dataViewer "$dataset"; done
# The run log and the alert history: write access to that one table, where BigQuery allows it, and
# to its dataset's metadata only (to see that the table exists); nothing else in the dataset.
for fn in etl kpi-monitor log-monitor; do
  grant_dataset "$fn" roles/bigquery.metadataViewer "$LOG_DATASET"
  grant_table "$fn" roles/bigquery.dataEditor "$LOG_DATASET.$LOG_TABLE"
done
for fn in kpi-monitor log-monitor; do
  grant_dataset "$fn" roles/bigquery.metadataViewer "$ALERTS_DATASET"
  grant_table "$fn" roles/bigquery.dataEditor "$ALERTS_DATASET.$ALERTS_TABLE"
done

grant_topic() { run gcloud pubsub topics add-iam-policy-binding "$2" "--member=serviceAccount:$(email "$1")" --role=roles/pubsub.publisher "--project=$PROJECT"; }
grant_topic etl "$COMPLETED_TOPIC"
grant_topic kpi-monitor "$ALERTS_TOPIC"
grant_topic log-monitor "$ALERTS_TOPIC"

# --- Slack secret -------------------------------------------------------------------------------

section "Slack webhook secret"
if [[ -n "$SLACK_WEBHOOK" ]]; then
  exists gcloud secrets describe "$SLACK_SECRET" "--project=$PROJECT" ||
    run gcloud secrets create "$SLACK_SECRET" --replication-policy=automatic "--project=$PROJECT"
  show gcloud secrets versions add "$SLACK_SECRET" --data-file=- "--project=$PROJECT"
  # The URL goes on stdin, never on a command line or in this script's output.
  if [[ $DRY_RUN -eq 0 ]]; then printf '%s' "$SLACK_WEBHOOK" | gcloud secrets versions add "$SLACK_SECRET" --data-file=- "--project=$PROJECT"; fi
fi
HAVE_SECRET=0
if [[ -n "$SLACK_WEBHOOK" ]] || exists gcloud secrets describe "$SLACK_SECRET" "--project=$PROJECT"; then HAVE_SECRET=1; fi
if [[ $HAVE_SECRET -eq 1 ]]; then
  for fn in kpi-monitor log-monitor; do
    run gcloud secrets add-iam-policy-binding "$SLACK_SECRET" "--member=serviceAccount:$(email "$fn")" --role=roles/secretmanager.secretAccessor "--project=$PROJECT"
  done
else
  printf 'No Slack webhook: alerts go to %s only. Give --slack-webhook URL to add one.\n' "$ALERTS_TOPIC"
fi

# --- functions ----------------------------------------------------------------------------------

section "Functions"
# What Cloud Build gets: the compiled code, sql/, config/ and the cloud dependencies only (no
# DuckDB, no Vega, nothing to compile), with the lock file pruned from this checkout's.
STAGE_DIR="$SCHEMA_DIR/functions"
node "$ROOT/bin/kpis.js" stage "$STAGE_DIR" || fail "cannot stage the functions (above): run npm install, then deploy again"
ENV_VARS="KPIS_WAREHOUSE=bigquery:$PROJECT,KPIS_BQ_LOCATION=$BQ_LOCATION,KPIS_PUBLISHER=pubsub:$PROJECT,KPIS_SECRETS=secret-manager:$PROJECT,KPIS_SLACK_SECRET=$SLACK_SECRET,KPIS_LOG_LEVEL=INFO"
PROJECT_NUMBER="$(lookup project-number gcloud projects describe "$PROJECT" --format=value\(projectNumber\))"
PUBSUB_AGENT="serviceAccount:service-$PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com"
# Pub/Sub forwards undeliverable messages itself: it must publish to the dead-letter topic.
run gcloud pubsub topics add-iam-policy-binding "$DEAD_LETTER_TOPIC" "--member=$PUBSUB_AGENT" --role=roles/pubsub.publisher "--project=$PROJECT"

# deploy NAME TARGET TOPIC TIMEOUT MEMORY MAX_INSTANCES
deploy_function() {
  local fn="$1" target="$2" topic="$3" timeout="$4" memory="$5" max_instances="$6"
  run gcloud functions deploy "daily-kpis-$fn" --gen2 "--runtime=$RUNTIME" "--region=$REGION" "--source=$STAGE_DIR" \
    "--entry-point=$target" "--trigger-topic=$topic" --retry "--service-account=$(email "$fn")" \
    "--trigger-service-account=$(email "$fn")" "--build-service-account=projects/$PROJECT/serviceAccounts/$(email build)" \
    "--set-env-vars=$ENV_VARS" "--timeout=$timeout" \
    "--memory=$memory" "--max-instances=$max_instances" "--project=$PROJECT"
  # Eventarc calls the function as its own service account.
  run gcloud functions add-invoker-policy-binding "daily-kpis-$fn" "--region=$REGION" "--member=serviceAccount:$(email "$fn")" "--project=$PROJECT"
}

# A bounded number of deliveries, then the dead-letter topic: a message that keeps failing is kept,
# not retried forever.
bound_retries() {
  local trigger="$1" subscription
  subscription="$(lookup "subscription of $trigger" gcloud eventarc triggers describe "$trigger" "--location=$REGION" --format=value\(transport.pubsub.subscription\) "--project=$PROJECT")"
  run gcloud pubsub subscriptions update "$subscription" "--dead-letter-topic=$DEAD_LETTER_TOPIC" "--max-delivery-attempts=$MAX_ATTEMPTS" \
    --min-retry-delay=10s --max-retry-delay=600s "--project=$PROJECT"
  run gcloud pubsub subscriptions add-iam-policy-binding "$subscription" "--member=$PUBSUB_AGENT" --role=roles/pubsub.subscriber "--project=$PROJECT"
}

function_trigger() {
  lookup "trigger of daily-kpis-$1" gcloud functions describe "daily-kpis-$1" --gen2 "--region=$REGION" --format=value\(eventTrigger.trigger\) "--project=$PROJECT"
}

# One ETL at a time: two runs of the same days would only redo each other's work.
deploy_function etl etl "$TRIGGER_TOPIC" 540s 512Mi 1
bound_retries "$(function_trigger etl)"
deploy_function kpi-monitor kpiMonitor "$COMPLETED_TOPIC" 300s 512Mi 3
bound_retries "$(function_trigger kpi-monitor)"
deploy_function log-monitor logMonitor "$HEARTBEAT_TOPIC" 120s 256Mi 3
bound_retries "$(function_trigger log-monitor)"

# log-monitor also listens to completion events: a second Eventarc trigger on the same service.
LOG_COMPLETED_TRIGGER=daily-kpis-log-monitor-completed
exists gcloud eventarc triggers describe "$LOG_COMPLETED_TRIGGER" "--location=$REGION" "--project=$PROJECT" ||
  run gcloud eventarc triggers create "$LOG_COMPLETED_TRIGGER" "--location=$REGION" \
    "--destination-run-service=daily-kpis-log-monitor" "--destination-run-region=$REGION" \
    --event-filters=type=google.cloud.pubsub.topic.v1.messagePublished \
    "--transport-topic=projects/$PROJECT/topics/$COMPLETED_TOPIC" \
    "--service-account=$(email log-monitor)" "--project=$PROJECT"
bound_retries "projects/$PROJECT/locations/$REGION/triggers/$LOG_COMPLETED_TRIGGER"

# --- Cloud Scheduler ----------------------------------------------------------------------------

section "Cloud Scheduler"
# schedule NAME CRON TOPIC BODY
schedule() {
  local verb=create
  exists gcloud scheduler jobs describe "$1" "--location=$REGION" "--project=$PROJECT" && verb=update
  run gcloud scheduler jobs "$verb" pubsub "$1" "--location=$REGION" "--schedule=$2" "--time-zone=$TIME_ZONE" \
    "--topic=$3" "--message-body=$4" "--project=$PROJECT"
}
schedule daily-kpis-daily "$SCHEDULE" "$TRIGGER_TOPIC" '{"days_back":1}'
schedule daily-kpis-heartbeat "0 * * * *" "$HEARTBEAT_TOPIC" '{}'

printf '\n%s daily-kpis in %s (%s).\n' "$([[ $DRY_RUN -eq 1 ]] && echo 'Would deploy' || echo 'Deployed')" "$PROJECT" "$REGION"
printf 'Run now:  gcloud pubsub topics publish %s --message='"'"'{"days_back":1}'"'"' --project=%s\n' "$TRIGGER_TOPIC" "$PROJECT"
printf 'Alerts:   gcloud pubsub subscriptions pull daily-kpis-alerts-pull --auto-ack --limit=10 --project=%s\n' "$PROJECT"
