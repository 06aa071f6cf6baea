#!/usr/bin/env bash
# Deploys daily-kpis to a Google Cloud project. Safe to run again: every step first reads what is
# there (one list or policy read per kind of resource) and changes only what differs, so a second
# run sends no request that changes anything.
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
  the Slack webhook secret (with --slack-webhook), and one secret per named Slack channel of the
  KPI config (slack_webhooks: created empty, a version added by hand); the functions etl, kpi-monitor, log-monitor
  (2nd gen, nodejs22, retry on failure, bounded delivery attempts, dead-letter topic); and two
  Cloud Scheduler jobs: the daily trigger and the hourly heartbeat.

Options:
  --project ID         Google Cloud project (required)
  --region R           region of the functions and scheduler jobs (required), e.g. europe-west1
  --bq-location L      BigQuery location of the datasets (default US)
  --schedule CRON      daily trigger schedule (default "0 6 * * *")
  --time-zone TZ       time zone of the schedule (default: the ETL config's time_zone, else UTC)
  --slack-webhook URL  store this Slack webhook URL in Secret Manager (default: $SLACK_WEBHOOK_URL,
                       which keeps it out of the process list; without either, an existing secret
                       is kept and none is created)
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
# No command this script starts inherits the webhook: it reaches Secret Manager on stdin only.
unset SLACK_WEBHOOK_URL
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

# Runs a read-only lookup and prints its answer; with --dry-run nothing is called and the answer is
# empty, so everything looks missing and the commands that would create it are printed.
read_only() {
  [[ $DRY_RUN -eq 0 ]] || return 0
  "$@"
}

# True when a lookup's answer (one name per line) holds this line.
has_line() { grep -Fxq -- "$2" <<< "$1"; }

section() { printf '\n== %s\n' "$1"; }

# The IAM policy edit every grant goes through: grant GET... -- SET... -- ROLE=MEMBER...
# Reads the policy once, adds the missing bindings and writes it back with the etag it read, so a
# concurrent change makes the write fail rather than be lost; writes nothing when none is missing.
MERGE_POLICY='
const fs = require("fs");
const [file, ...grants] = process.argv.slice(1);
const text = fs.readFileSync(file, "utf8").trim();
const policy = text ? JSON.parse(text) : {};
policy.bindings = policy.bindings || [];
let added = 0;
for (const grant of grants) {
  const role = grant.slice(0, grant.indexOf("="));
  const member = grant.slice(grant.indexOf("=") + 1);
  let binding = policy.bindings.find((b) => b.role === role && !b.condition);
  if (!binding) policy.bindings.push((binding = { role, members: [] }));
  if (!binding.members.includes(member)) binding.members.push(member), added++;
}
fs.writeFileSync(file, JSON.stringify(policy));
process.exit(added ? 0 : 3);
'
grant() {
  local get=() set=() wanted=() part=get arg file status=0
  for arg in "$@"; do
    if [[ "$arg" == -- ]]; then if [[ $part == get ]]; then part=set; else part=wanted; fi; continue; fi
    case $part in get) get+=("$arg") ;; set) set+=("$arg") ;; wanted) wanted+=("$arg") ;; esac
  done
  if [[ $DRY_RUN -eq 1 ]]; then printf '%s POLICY.json   # read by %s, plus %s\n' "$(show "${set[@]}")" "$(show "${get[@]}" | cut -c3-)" "${wanted[*]}"; return 0; fi
  file="$(mktemp "$WORK_DIR/policy.XXXXXX")"
  "${get[@]}" > "$file"
  node -e "$MERGE_POLICY" "$file" "${wanted[@]}" || status=$?
  case $status in
    0) run "${set[@]}" "$file" >/dev/null ;;
    3) ;;
    *) fail "cannot read the IAM policy given by: $(show "${get[@]}")" ;;
  esac
}

# --- checks -------------------------------------------------------------------------------------

if [[ $DRY_RUN -eq 0 ]]; then
  command -v gcloud >/dev/null || fail "gcloud not found: install the Google Cloud SDK"
  command -v bq >/dev/null || fail "bq not found: install the Google Cloud SDK"
fi
[[ -f "$ROOT/dist/cli/main.js" ]] || fail "dist/ is missing: run npm install (it builds) first"
[[ $DRY_RUN -eq 1 ]] && printf 'Dry run: nothing below is called.\n'
WORK_DIR="$(mktemp -d)"
trap 'rm -rf "$WORK_DIR"' EXIT

# --- APIs ---------------------------------------------------------------------------------------

section "APIs"
# The daily run fires at the schedule's hour of the business day's zone unless told otherwise.
[[ -n "$TIME_ZONE" ]] || TIME_ZONE="$(node "$ROOT/bin/kpis.js" time-zone)" || fail "cannot read time_zone from the ETL config (above)"

ENABLED="$(read_only gcloud services list --enabled --format='value(config.name)' "--project=$PROJECT")"
MISSING=()
for api in cloudfunctions.googleapis.com run.googleapis.com eventarc.googleapis.com cloudbuild.googleapis.com \
  artifactregistry.googleapis.com pubsub.googleapis.com cloudscheduler.googleapis.com bigquery.googleapis.com \
  secretmanager.googleapis.com logging.googleapis.com iam.googleapis.com; do
  has_line "$ENABLED" "$api" || MISSING+=("$api")
done
[[ ${#MISSING[@]} -eq 0 ]] || run gcloud services enable "${MISSING[@]}" "--project=$PROJECT"

# --- BigQuery -----------------------------------------------------------------------------------

section "BigQuery datasets and tables"
SCHEMA_DIR="$WORK_DIR/schemas"
mkdir "$SCHEMA_DIR"
TABLES="$(node "$ROOT/bin/kpis.js" schema --dir "$SCHEMA_DIR")"
SOURCE_DATASETS=(); KPI_DATASETS=(); CHECK_DATASETS=(); LOG_DATASET=""; LOG_TABLE=""; ALERTS_DATASET=""; ALERTS_TABLE=""; DATASETS=()
EXISTING_DATASETS="$(read_only bq --format=json ls --max_results=10000 "$PROJECT:" | node -e 'let t="";process.stdin.on("data",(c)=>(t+=c)).on("end",()=>{for(const d of JSON.parse(t||"[]"))console.log(d.datasetReference.datasetId)})')"
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
    EXISTING_TABLES=""
    if has_line "$EXISTING_DATASETS" "$dataset"; then
      EXISTING_TABLES="$(read_only bq --format=json ls --max_results=10000 "$PROJECT:$dataset" | node -e 'let t="";process.stdin.on("data",(c)=>(t+=c)).on("end",()=>{for(const d of JSON.parse(t||"[]"))console.log(d.tableReference.tableId)})')"
    else
      run bq "--location=$BQ_LOCATION" mk --dataset "--description=daily-kpis: $dataset" "$PROJECT:$dataset"
    fi
  fi
  if ! has_line "$EXISTING_TABLES" "$table"; then
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
TOPICS="$(read_only gcloud pubsub topics list --format='value(name.basename())' "--project=$PROJECT")"
MISSING=()
for topic in "$TRIGGER_TOPIC" "$COMPLETED_TOPIC" "$HEARTBEAT_TOPIC" "$ALERTS_TOPIC" "$DEAD_LETTER_TOPIC"; do
  has_line "$TOPICS" "$topic" || MISSING+=("$topic")
done
[[ ${#MISSING[@]} -eq 0 ]] || run gcloud pubsub topics create "${MISSING[@]}" "--project=$PROJECT"
# Without a subscription, a topic drops what is published to it: these keep dead letters and alerts
# for a week, to read with `gcloud pubsub subscriptions pull`.
SUBSCRIPTIONS="$(read_only gcloud pubsub subscriptions list --format='value(name.basename())' "--project=$PROJECT")"
for pair in "$DEAD_LETTER_TOPIC:daily-kpis-dead-letter-keep" "$ALERTS_TOPIC:daily-kpis-alerts-pull"; do
  topic="${pair%%:*}"; subscription="${pair##*:}"
  has_line "$SUBSCRIPTIONS" "$subscription" ||
    run gcloud pubsub subscriptions create "$subscription" "--topic=$topic" --message-retention-duration=7d --expiration-period=never "--project=$PROJECT"
done

# --- service accounts, least privilege ----------------------------------------------------------

section "Service accounts"
# Account names by function (6 to 30 characters); no associative array, for macOS's bash 3.
account() { printf 'kpis-%s' "$1"; }
email() { printf '%s@%s.iam.gserviceaccount.com' "$(account "$1")" "$PROJECT"; }
member() { printf 'serviceAccount:%s' "$(email "$1")"; }
ACCOUNTS="$(read_only gcloud iam service-accounts list --format='value(email)' "--project=$PROJECT")"
for fn in etl kpi-monitor log-monitor build; do
  has_line "$ACCOUNTS" "$(email "$fn")" ||
    run gcloud iam service-accounts create "$(account "$fn")" "--display-name=daily-kpis $fn$([[ $fn == build ]] && echo ' (Cloud Build)' || echo ' function')" "--project=$PROJECT"
done

PROJECT_INFO="$(read_only gcloud projects describe "$PROJECT" --format='value(projectNumber,createTime)')"
PROJECT_NUMBER="${PROJECT_INFO%%$'\t'*}"; PROJECT_CREATED="${PROJECT_INFO#*$'\t'}"
[[ -n "$PROJECT_NUMBER" ]] || PROJECT_NUMBER='<project-number>'
PUBSUB_AGENT="serviceAccount:service-$PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com"

# Project-level grants, in one policy write: running queries (what a job may read or write is
# granted per dataset or table), and Cloud Build's account, which builds the functions instead of
# the project's default one (it writes the build's logs and the image, and reads the source).
PROJECT_GRANTS=()
for fn in etl kpi-monitor log-monitor; do PROJECT_GRANTS+=("roles/bigquery.jobUser=$(member "$fn")"); done
for role in roles/logging.logWriter roles/artifactregistry.writer roles/storage.objectViewer; do PROJECT_GRANTS+=("$role=$(member build)"); done
# Pub/Sub signs each push to a function with a token of the trigger's account. A service agent
# created on or before 2021-04-08 lacks that right and needs roles/iam.serviceAccountTokenCreator
# (cloud.google.com/eventarc/docs/roles-permissions); later ones have it from roles/pubsub.serviceAgent.
# The agent cannot predate its project, so only a project created by that day gets the grant.
if [[ -n "$PROJECT_CREATED" && "${PROJECT_CREATED:0:10}" < 2021-04-09 ]]; then
  PROJECT_GRANTS+=("roles/iam.serviceAccountTokenCreator=$PUBSUB_AGENT")
fi
grant gcloud projects get-iam-policy "$PROJECT" --format=json -- \
  gcloud projects set-iam-policy "$PROJECT" -- "${PROJECT_GRANTS[@]}"

# BigQuery: what each function reads or writes, per dataset or table.
grant_dataset() {
  local dataset="$1"; shift
  grant bq --format=json get-iam-policy "$PROJECT:$dataset" -- bq set-iam-policy "$PROJECT:$dataset" -- "$@"
}
grant_table() {
  local table="$1"; shift
  grant bq --format=json get-iam-policy --table=true "$PROJECT:$table" -- bq set-iam-policy --table=true "$PROJECT:$table" -- "$@"
}
# The run log and the alert history: write access to that one table, where BigQuery allows it, and
# to its dataset's metadata only (to see that the table exists); nothing else in the dataset.
for dataset in "${DATASETS[@]}" "${SOURCE_DATASETS[@]}" "${CHECK_DATASETS[@]}"; do
  [[ " ${GRANTED:-} " != *" $dataset "* ]] || continue
  GRANTED="${GRANTED:-} $dataset"
  grants=()
  [[ " ${SOURCE_DATASETS[*]:-} " == *" $dataset "* ]] && grants+=("roles/bigquery.dataViewer=$(member etl)")
  [[ " ${KPI_DATASETS[*]:-} " == *" $dataset "* ]] && grants+=("roles/bigquery.dataEditor=$(member etl)")
  [[ " ${CHECK_DATASETS[*]:-} " == *" $dataset "* ]] && grants+=("roles/bigquery.dataViewer=$(member kpi-monitor)")
  if [[ "$dataset" == "$LOG_DATASET" ]]; then
    for fn in etl kpi-monitor log-monitor; do grants+=("roles/bigquery.metadataViewer=$(member "$fn")"); done
  fi
  if [[ "$dataset" == "$ALERTS_DATASET" ]]; then
    for fn in kpi-monitor log-monitor; do grants+=("roles/bigquery.metadataViewer=$(member "$fn")"); done
  fi
  [[ ${#grants[@]} -eq 0 ]] || grant_dataset "$dataset" "${grants[@]}"
done
grant_table "$LOG_DATASET.$LOG_TABLE" "roles/bigquery.dataEditor=$(member etl)" "roles/bigquery.dataEditor=$(member kpi-monitor)" "roles/bigquery.dataEditor=$(member log-monitor)"
grant_table "$ALERTS_DATASET.$ALERTS_TABLE" "roles/bigquery.dataEditor=$(member kpi-monitor)" "roles/bigquery.dataEditor=$(member log-monitor)"

grant_topic() {
  local topic="$1"; shift
  grant gcloud pubsub topics get-iam-policy "$topic" --format=json "--project=$PROJECT" -- \
    gcloud pubsub topics set-iam-policy "$topic" "--project=$PROJECT" -- "$@"
}
grant_topic "$COMPLETED_TOPIC" "roles/pubsub.publisher=$(member etl)"
grant_topic "$ALERTS_TOPIC" "roles/pubsub.publisher=$(member kpi-monitor)" "roles/pubsub.publisher=$(member log-monitor)"
# Pub/Sub forwards undeliverable messages itself: it must publish to the dead-letter topic.
grant_topic "$DEAD_LETTER_TOPIC" "roles/pubsub.publisher=$PUBSUB_AGENT"

# --- Slack secret -------------------------------------------------------------------------------

section "Slack webhook secret"
SECRETS="$(read_only gcloud secrets list --filter="name:$SLACK_SECRET" --format='value(name.basename())' "--project=$PROJECT")"
HAVE_SECRET=0
has_line "$SECRETS" "$SLACK_SECRET" && HAVE_SECRET=1
if [[ -n "$SLACK_WEBHOOK" ]]; then
  [[ $HAVE_SECRET -eq 1 ]] || run gcloud secrets create "$SLACK_SECRET" --replication-policy=automatic "--project=$PROJECT"
  # A new version only when the value changed; the URL goes on stdin, never on a command line or
  # in this script's output.
  CURRENT=""
  [[ $HAVE_SECRET -eq 0 ]] || CURRENT="$(read_only gcloud secrets versions access latest "--secret=$SLACK_SECRET" "--project=$PROJECT" 2>/dev/null || true)"
  if [[ "$CURRENT" != "$SLACK_WEBHOOK" ]]; then
    show gcloud secrets versions add "$SLACK_SECRET" --data-file=- "--project=$PROJECT"
    if [[ $DRY_RUN -eq 0 ]]; then printf '%s' "$SLACK_WEBHOOK" | gcloud secrets versions add "$SLACK_SECRET" --data-file=- "--project=$PROJECT"; fi
  fi
  CURRENT=""
  HAVE_SECRET=1
fi
if [[ $HAVE_SECRET -eq 1 ]]; then
  grant gcloud secrets get-iam-policy "$SLACK_SECRET" --format=json "--project=$PROJECT" -- \
    gcloud secrets set-iam-policy "$SLACK_SECRET" "--project=$PROJECT" -- \
    "roles/secretmanager.secretAccessor=$(member kpi-monitor)" "roles/secretmanager.secretAccessor=$(member log-monitor)"
else
  printf 'No Slack webhook: alerts go to %s only. Give --slack-webhook URL to add one.\n' "$ALERTS_TOPIC"
fi

# The named channels of the KPI config (slack_webhooks; $KPIS_MONITOR_CONFIG as for kpis validate):
# each webhook is a secret of its own, created here without a value. Until it has one, the channel's
# alerts post to the default webhook. Add it with:
#   printf '%s' "$URL" | gcloud secrets versions add SECRET --data-file=- --project=PROJECT
CHANNEL_SECRETS_JS='
const dist = process.argv[1];
const { parseSettings } = require(dist + "/shared/settings.js");
const { loadSlackWebhooks } = require(dist + "/shared/config/kpi-checks.js");
const secrets = new Set([...loadSlackWebhooks(parseSettings({}, process.env).kpisConfig).values()].map((ref) => ref.secret));
for (const secret of secrets) console.log(secret);
'
CHANNEL_SECRETS="$(node -e "$CHANNEL_SECRETS_JS" "$ROOT/dist")" || fail "cannot read slack_webhooks from the KPI config (above)"
if [[ -n "$CHANNEL_SECRETS" ]]; then
  section "Slack channel secrets"
  ALL_SECRETS="$(read_only gcloud secrets list --format='value(name.basename())' "--project=$PROJECT")"
  # An array, not a read loop: no command below may take the loop's stdin.
  mapfile -t CHANNEL_SECRET_LIST <<< "$CHANNEL_SECRETS"
  for secret in "${CHANNEL_SECRET_LIST[@]}"; do
    has_line "$ALL_SECRETS" "$secret" || run gcloud secrets create "$secret" --replication-policy=automatic "--project=$PROJECT"
    grant gcloud secrets get-iam-policy "$secret" --format=json "--project=$PROJECT" -- \
      gcloud secrets set-iam-policy "$secret" "--project=$PROJECT" -- \
      "roles/secretmanager.secretAccessor=$(member kpi-monitor)" "roles/secretmanager.secretAccessor=$(member log-monitor)"
  done
fi

# --- functions ----------------------------------------------------------------------------------

section "Functions"
# What Cloud Build gets: the compiled code, sql/, config/ and the cloud dependencies only (no
# DuckDB, no Vega, nothing to compile), with the lock file pruned from this checkout's.
STAGE_DIR="$WORK_DIR/functions"
node "$ROOT/bin/kpis.js" stage "$STAGE_DIR" >/dev/null || fail "cannot stage the functions (above): run npm install, then deploy again"
ENV_VARS="KPIS_WAREHOUSE=bigquery:$PROJECT,KPIS_BQ_LOCATION=$BQ_LOCATION,KPIS_PUBLISHER=pubsub:$PROJECT,KPIS_SECRETS=secret-manager:$PROJECT,KPIS_SLACK_SECRET=$SLACK_SECRET,KPIS_LOG_LEVEL=INFO"
# A function is deployed again only when its source or settings changed: the label kpis-deploy
# holds a hash of both (a build takes minutes, and a second run should change nothing).
HASH_DEPLOY='
const fs = require("fs"), path = require("path"), crypto = require("crypto");
const [dir, ...args] = process.argv.slice(1);
const hash = crypto.createHash("sha256");
const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1)).forEach((e) => {
  const p = path.join(d, e.name);
  if (e.isDirectory()) walk(p); else hash.update(path.relative(dir, p) + "\0").update(fs.readFileSync(p));
});
walk(dir);
hash.update(JSON.stringify(args));
console.log(hash.digest("hex").slice(0, 40));
'

# deploy_function NAME TARGET TOPIC TIMEOUT MEMORY MAX_INSTANCES: deploys when needed, and lets
# the function's own account invoke it (Eventarc calls the function as that account).
deploy_function() {
  local fn="$1" target="$2" topic="$3" timeout="$4" memory="$5" max_instances="$6" args deployed fingerprint
  args=(gcloud functions deploy "daily-kpis-$fn" --gen2 "--runtime=$RUNTIME" "--region=$REGION" "--source=$STAGE_DIR"
    "--entry-point=$target" "--trigger-topic=$topic" --retry "--service-account=$(email "$fn")"
    "--trigger-service-account=$(email "$fn")" "--build-service-account=projects/$PROJECT/serviceAccounts/$(email build)"
    "--set-env-vars=$ENV_VARS" "--timeout=$timeout" "--memory=$memory" "--max-instances=$max_instances" "--project=$PROJECT")
  # The staged folder is new on every run: its content is hashed, not its path.
  fingerprint="$(node -e "$HASH_DEPLOY" "$STAGE_DIR" "${args[@]/#--source=*/--source}")"
  deployed="$(read_only gcloud functions describe "daily-kpis-$fn" --gen2 "--region=$REGION" '--format=value(labels.kpis-deploy)' "--project=$PROJECT" 2>/dev/null || true)"
  [[ "$deployed" == "$fingerprint" ]] || run "${args[@]}" "--update-labels=kpis-deploy=$fingerprint"
  grant gcloud run services get-iam-policy "daily-kpis-$fn" "--region=$REGION" --format=json "--project=$PROJECT" -- \
    gcloud run services set-iam-policy "daily-kpis-$fn" "--region=$REGION" "--project=$PROJECT" -- "roles/run.invoker=$(member "$fn")"
}

# One ETL at a time: two runs of the same days would only redo each other's work.
deploy_function etl etl "$TRIGGER_TOPIC" 540s 512Mi 1
deploy_function kpi-monitor kpiMonitor "$COMPLETED_TOPIC" 300s 512Mi 3
deploy_function log-monitor logMonitor "$HEARTBEAT_TOPIC" 120s 256Mi 3

# log-monitor also listens to completion events: a second Eventarc trigger on the same service.
LOG_COMPLETED_TRIGGER=daily-kpis-log-monitor-completed
list_triggers() {
  read_only gcloud eventarc triggers list "--location=$REGION" '--format=value(name.basename(),destination.cloudRun.service,transport.pubsub.subscription.basename())' "--project=$PROJECT"
}
TRIGGERS="$(list_triggers)"
if ! cut -f1 <<< "$TRIGGERS" | grep -Fxq -- "$LOG_COMPLETED_TRIGGER"; then
  run gcloud eventarc triggers create "$LOG_COMPLETED_TRIGGER" "--location=$REGION" \
    "--destination-run-service=daily-kpis-log-monitor" "--destination-run-region=$REGION" \
    --event-filters=type=google.cloud.pubsub.topic.v1.messagePublished \
    "--transport-topic=projects/$PROJECT/topics/$COMPLETED_TOPIC" \
    "--service-account=$(email log-monitor)" "--project=$PROJECT"
  TRIGGERS="$(list_triggers)"
fi

# A bounded number of deliveries, then the dead-letter topic: a message that keeps failing is kept,
# not retried forever. Every trigger of the three functions has its own push subscription.
WANTED_DELIVERY="$DEAD_LETTER_TOPIC	$MAX_ATTEMPTS	10s	600s"
DELIVERY="$(read_only gcloud pubsub subscriptions list '--format=value(name.basename(),deadLetterPolicy.deadLetterTopic.basename(),deadLetterPolicy.maxDeliveryAttempts,retryPolicy.minimumBackoff,retryPolicy.maximumBackoff)' "--project=$PROJECT")"
FUNCTION_SUBSCRIPTIONS=()
while IFS=$'\t' read -r trigger service subscription; do
  [[ "$service" == daily-kpis-* ]] && FUNCTION_SUBSCRIPTIONS+=("$subscription")
done <<< "$TRIGGERS"
[[ $DRY_RUN -eq 0 ]] || FUNCTION_SUBSCRIPTIONS=('<subscription of each function trigger>')
for subscription in "${FUNCTION_SUBSCRIPTIONS[@]}"; do
  has_line "$DELIVERY" "$subscription	$WANTED_DELIVERY" ||
    run gcloud pubsub subscriptions update "$subscription" "--dead-letter-topic=projects/$PROJECT/topics/$DEAD_LETTER_TOPIC" \
      "--max-delivery-attempts=$MAX_ATTEMPTS" --min-retry-delay=10s --max-retry-delay=600s "--project=$PROJECT"
  # Pub/Sub acknowledges a dead-lettered message on the subscription itself.
  grant gcloud pubsub subscriptions get-iam-policy "$subscription" --format=json "--project=$PROJECT" -- \
    gcloud pubsub subscriptions set-iam-policy "$subscription" "--project=$PROJECT" -- "roles/pubsub.subscriber=$PUBSUB_AGENT"
done

# --- Cloud Scheduler ----------------------------------------------------------------------------

section "Cloud Scheduler"
JOBS="$(read_only gcloud scheduler jobs list "--location=$REGION" '--format=value(name.basename(),schedule,timeZone,pubsubTarget.topicName,pubsubTarget.data)' "--project=$PROJECT")"
# schedule NAME CRON TOPIC BODY: the topic by its full name, since gcloud resolves a short one
# against the gcloud config's default project, not --project.
schedule() {
  local verb=create topic="projects/$PROJECT/topics/$3"
  has_line "$JOBS" "$1	$2	$TIME_ZONE	$topic	$(printf '%s' "$4" | base64)" && return 0
  cut -f1 <<< "$JOBS" | grep -Fxq -- "$1" && verb=update
  run gcloud scheduler jobs "$verb" pubsub "$1" "--location=$REGION" "--schedule=$2" "--time-zone=$TIME_ZONE" \
    "--topic=$topic" "--message-body=$4" "--project=$PROJECT"
}
schedule daily-kpis-daily "$SCHEDULE" "$TRIGGER_TOPIC" '{"days_back":1}'
schedule daily-kpis-heartbeat "0 * * * *" "$HEARTBEAT_TOPIC" '{}'

printf '\n%s daily-kpis in %s (%s).\n' "$([[ $DRY_RUN -eq 1 ]] && echo 'Would deploy' || echo 'Deployed')" "$PROJECT" "$REGION"
printf 'Run now:  gcloud pubsub topics publish %s --message='"'"'{"days_back":1}'"'"' --project=%s\n' "$TRIGGER_TOPIC" "$PROJECT"
printf 'Alerts:   gcloud pubsub subscriptions pull daily-kpis-alerts-pull --auto-ack --limit=10 --project=%s\n' "$PROJECT"
