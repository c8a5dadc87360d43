#!/usr/bin/env bash
# shellcheck disable=SC2034 # template variables (VARS) are read by render through ${!v}
# Deploys ViewerAtlas to AWS: S3 bucket, ECR repositories, log groups, SNS alerts, IAM roles,
# EFS (channel list + atlas output), ECS cluster, collector shard services, scheduled discover /
# vod / analysis tasks (EventBridge Scheduler), Athena workgroup + tables, dashboard and alarms.
#
# Idempotent: every resource is described before it is created; "put" calls overwrite in place;
# task definitions get a new revision per run. Run it again after changing a setting.
#
#   infrastructure/aws/deploy.sh --dry-run            # print every aws call, touch nothing
#   SUBNETS=subnet-a,subnet-b SECURITY_GROUP=sg-1 BUCKET=my-bucket \
#     infrastructure/aws/deploy.sh --push-images --shards 4
#
# Settings (environment): REGION, BUCKET, PREFIX, DATABASE, WORKGROUP, NAMESPACE, CLUSTER,
# IMAGE_TAG, SHARD_COUNT, SUBNETS (comma-separated), SECURITY_GROUP (must allow NFS 2049 from
# itself for EFS, and egress to the internet), SSE (AES256 | aws:kms), KMS_KEY_ARN,
# ALERT_EMAIL, PSEUDONYMIZE (true | false), TWITCH_CLIENT_ID / TWITCH_CLIENT_SECRET (only when
# the Twitch secret does not exist yet). Needs: aws CLI v2 (not for --dry-run), docker for
# --push-images.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

DRY_RUN=0
PUSH_IMAGES=0
RENDER_DIR=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --push-images) PUSH_IMAGES=1 ;;
    --shards) SHARD_COUNT="$2"; shift ;;
    --image-tag) IMAGE_TAG="$2"; shift ;;
    --render-dir) RENDER_DIR="$2"; shift ;;
    -h | --help) sed -n '3,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "deploy.sh: unknown argument $1 (see --help)" >&2; exit 1 ;;
  esac
  shift
done

REGION="${REGION:-${AWS_REGION:-us-east-1}}"
PREFIX="${PREFIX:-vieweratlas/}"
DATABASE="${DATABASE:-vieweratlas}"
WORKGROUP="${WORKGROUP:-vieweratlas}"
NAMESPACE="${NAMESPACE:-ViewerAtlas}"
CLUSTER="${CLUSTER:-vieweratlas}"
IMAGE_TAG="${IMAGE_TAG:-latest}"
SHARD_COUNT="${SHARD_COUNT:-2}"
SSE="${SSE:-AES256}"
KMS_KEY_ARN="${KMS_KEY_ARN:-}"
PSEUDONYMIZE="${PSEUDONYMIZE:-true}"
ALERT_EMAIL="${ALERT_EMAIL:-}"
PSEUDONYM_SECRET_NAME="vieweratlas/pseudonym-key"
TWITCH_SECRET_NAME="vieweratlas/twitch"
LOG_RETENTION_DAYS=30
# Athena refuses a query that would scan more than this (cost guard): 100 GiB.
ATHENA_SCAN_CUTOFF_BYTES=107374182400
IMAGES=(collector analysis vod)
TASKS=(analysis vod discover)
SCHEDULES=(discover vod analyze)

die() { echo "deploy.sh: $*" >&2; exit 1; }
note() { echo "# $*"; }

[[ "$SHARD_COUNT" =~ ^[1-9][0-9]*$ ]] || die "SHARD_COUNT must be a positive integer (got \"$SHARD_COUNT\")"
[[ "$PREFIX" == */ ]] || die "PREFIX must end with / (got \"$PREFIX\")"
case "$SSE" in
  AES256) KMS_KEY_ID="" ;;
  aws:kms) [[ -n "$KMS_KEY_ARN" ]] || die "SSE=aws:kms needs KMS_KEY_ARN"; KMS_KEY_ID="$KMS_KEY_ARN" ;;
  *) die "SSE must be AES256 or aws:kms (got \"$SSE\")" ;;
esac

if [[ $DRY_RUN == 1 ]]; then
  SUBNETS="${SUBNETS:-subnet-dryrun1,subnet-dryrun2}"
  SECURITY_GROUP="${SECURITY_GROUP:-sg-dryrun}"
else
  command -v aws > /dev/null || die "the aws CLI v2 is needed (or use --dry-run)"
  [[ -n "${SUBNETS:-}" ]] || die "SUBNETS (comma-separated subnet ids) is required"
  [[ -n "${SECURITY_GROUP:-}" ]] || die "SECURITY_GROUP is required"
fi
IFS=',' read -r -a SUBNET_LIST <<< "$SUBNETS"
SUBNETS_JSON="[$(printf '"%s",' "${SUBNET_LIST[@]}" | sed 's/,$//')]"

# --- how aws is called ---------------------------------------------------------------------

# Prints a command the way a shell would read it back.
show() { printf '+'; printf ' %q' "$@"; printf '\n'; }

# A call that changes something: printed; run unless --dry-run.
run() {
  show aws "$@"
  [[ $DRY_RUN == 1 ]] || aws "$@"
}

# Like run, but the last argument is a secret: printed as <redacted>, never echoed.
run_secret() {
  local args=("$@")
  local last=$((${#args[@]} - 1))
  show aws "${args[@]:0:last}" '<redacted>'
  [[ $DRY_RUN == 1 ]] || aws "${args[@]}" > /dev/null
}

# A describe call: true when it names an existing resource (non-empty output that is not None).
# In a dry run it is printed and answers "absent", so the create path is shown.
found() {
  show aws "$@"
  [[ $DRY_RUN == 1 ]] && return 1
  local out
  out="$(aws "$@" 2> /dev/null)" || return 1
  [[ -n "$out" && "$out" != "None" ]]
}

# A call whose output we need: prints the call; a dry run yields the placeholder $1.
value() {
  local placeholder="$1"
  shift
  show aws "$@" >&2
  if [[ $DRY_RUN == 1 ]]; then echo "$placeholder"; else aws "$@"; fi
}

# --- templates ------------------------------------------------------------------------------

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
[[ -z "$RENDER_DIR" ]] || mkdir -p "$RENDER_DIR"
VARS=(ACCOUNT_ID REGION BUCKET PREFIX DATABASE WORKGROUP NAMESPACE CLUSTER ECR_REGISTRY IMAGE_TAG
  SHARD_INDEX SHARD_COUNT SECURITY_GROUP SSE KMS_KEY_ID KMS_KEY_ARN PSEUDONYMIZE
  PSEUDONYM_SECRET_ARN TWITCH_SECRET_ARN EFS_ID EFS_ACCESS_POINT_ID)

# render TEMPLATE NAME → path of the rendered copy. ${UPPER_CASE} placeholders are replaced
# (lower-case ones, such as Athena's ${dt}, are not ours); a placeholder left over is an error.
render() {
  local template="$1" name="$2" text v
  text="$(< "$template")"
  # an empty env value would reach the config loader as YAML null: drop the KMS key id line instead
  # shellcheck disable=SC2016 # the literal placeholder is meant
  if [[ -z "$KMS_KEY_ID" ]]; then text="$(grep -v '"value": "${KMS_KEY_ID}"' <<< "$text")"; fi
  for v in "${VARS[@]}"; do
    text="${text//"\${$v}"/"${!v:-}"}"
  done
  text="${text//"\"\${SUBNETS_JSON}\""/"$SUBNETS_JSON"}"
  if [[ "$text" =~ \$\{[A-Z][A-Z0-9_]*\} ]]; then die "$template: placeholder ${BASH_REMATCH[0]} has no value"; fi
  printf '%s\n' "$text" > "$WORK/$name"
  [[ -z "$RENDER_DIR" ]] || cp "$WORK/$name" "$RENDER_DIR/$name"
  echo "$WORK/$name"
}

SHARD_INDEX=""
EFS_ID=""
EFS_ACCESS_POINT_ID=""
PSEUDONYM_SECRET_ARN=""
TWITCH_SECRET_ARN=""

# --- 1. account ------------------------------------------------------------------------------
note "account and region"
ACCOUNT_ID="$(value 123456789012 sts get-caller-identity --query Account --output text)"
BUCKET="${BUCKET:-vieweratlas-$ACCOUNT_ID-$REGION}"
ECR_REGISTRY="$ACCOUNT_ID.dkr.ecr.$REGION.amazonaws.com"
export AWS_REGION="$REGION"

# --- 2. secrets --------------------------------------------------------------------------------
note "secrets (pseudonym key, Twitch app credentials)"
if ! found secretsmanager describe-secret --secret-id "$PSEUDONYM_SECRET_NAME" --query ARN --output text; then
  key="$([[ $DRY_RUN == 1 ]] || od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
  run_secret secretsmanager create-secret --name "$PSEUDONYM_SECRET_NAME" \
    --description "HMAC key for viewer pseudonyms (privacy.key_env)" --secret-string "$key"
fi
PSEUDONYM_SECRET_ARN="$(value "arn:aws:secretsmanager:$REGION:$ACCOUNT_ID:secret:$PSEUDONYM_SECRET_NAME-dryrun" \
  secretsmanager describe-secret --secret-id "$PSEUDONYM_SECRET_NAME" --query ARN --output text)"
if ! found secretsmanager describe-secret --secret-id "$TWITCH_SECRET_NAME" --query ARN --output text; then
  if [[ $DRY_RUN == 0 && (-z "${TWITCH_CLIENT_ID:-}" || -z "${TWITCH_CLIENT_SECRET:-}") ]]; then
    die "secret $TWITCH_SECRET_NAME does not exist: set TWITCH_CLIENT_ID and TWITCH_CLIENT_SECRET once to create it"
  fi
  run_secret secretsmanager create-secret --name "$TWITCH_SECRET_NAME" \
    --description "Twitch app for Helix (discover, vod)" \
    --secret-string "{\"client_id\":\"${TWITCH_CLIENT_ID:-}\",\"client_secret\":\"${TWITCH_CLIENT_SECRET:-}\"}"
fi
TWITCH_SECRET_ARN="$(value "arn:aws:secretsmanager:$REGION:$ACCOUNT_ID:secret:$TWITCH_SECRET_NAME-dryrun" \
  secretsmanager describe-secret --secret-id "$TWITCH_SECRET_NAME" --query ARN --output text)"

# --- 3. bucket ---------------------------------------------------------------------------------
note "S3 bucket s3://$BUCKET/$PREFIX (encrypted, private, TLS only)"
if ! found s3api head-bucket --bucket "$BUCKET"; then
  if [[ "$REGION" == us-east-1 ]]; then
    run s3api create-bucket --bucket "$BUCKET"
  else
    run s3api create-bucket --bucket "$BUCKET" --create-bucket-configuration "LocationConstraint=$REGION"
  fi
fi
run s3api put-public-access-block --bucket "$BUCKET" --public-access-block-configuration \
  BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
if [[ "$SSE" == aws:kms ]]; then
  sse_rule="{\"Rules\":[{\"ApplyServerSideEncryptionByDefault\":{\"SSEAlgorithm\":\"aws:kms\",\"KMSMasterKeyID\":\"$KMS_KEY_ARN\"},\"BucketKeyEnabled\":true}]}"
else
  sse_rule='{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"},"BucketKeyEnabled":true}]}'
fi
run s3api put-bucket-encryption --bucket "$BUCKET" --server-side-encryption-configuration "$sse_rule"
run s3api put-bucket-policy --bucket "$BUCKET" --policy "file://$(render "$HERE/iam/bucket-policy.json" bucket-policy.json)"
run s3api put-bucket-lifecycle-configuration --bucket "$BUCKET" \
  --lifecycle-configuration "file://$(render "$HERE/s3/lifecycle.json" lifecycle.json)"

# --- 4. images ---------------------------------------------------------------------------------
note "ECR repositories (scan on push)"
for image in "${IMAGES[@]}"; do
  if ! found ecr describe-repositories --repository-names "vieweratlas-$image" --query 'repositories[0].repositoryUri' --output text; then
    run ecr create-repository --repository-name "vieweratlas-$image" \
      --image-scanning-configuration scanOnPush=true --encryption-configuration encryptionType=AES256
  fi
done
if [[ $PUSH_IMAGES == 1 ]]; then
  note "build and push images $IMAGE_TAG"
  show aws ecr get-login-password '|' docker login --username AWS --password-stdin "$ECR_REGISTRY"
  [[ $DRY_RUN == 1 ]] || aws ecr get-login-password | docker login --username AWS --password-stdin "$ECR_REGISTRY"
  for image in "${IMAGES[@]}"; do
    tag="$ECR_REGISTRY/vieweratlas-$image:$IMAGE_TAG"
    show docker build -f "$REPO/infrastructure/docker/Dockerfile" --target "$image" -t "$tag" "$REPO"
    show docker push "$tag"
    if [[ $DRY_RUN == 0 ]]; then
      docker build -f "$REPO/infrastructure/docker/Dockerfile" --target "$image" -t "$tag" "$REPO"
      docker push "$tag"
    fi
  done
fi

# --- 5. logs and alerts --------------------------------------------------------------------------
note "log groups (EMF metrics are extracted from these) and the alert topic"
for group in collector analysis vod discover; do
  if ! found logs describe-log-groups --log-group-name-prefix "/vieweratlas/$group" \
    --query "logGroups[?logGroupName=='/vieweratlas/$group'].logGroupName" --output text; then
    run logs create-log-group --log-group-name "/vieweratlas/$group"
  fi
  run logs put-retention-policy --log-group-name "/vieweratlas/$group" --retention-in-days "$LOG_RETENTION_DAYS"
done
# create-topic returns the existing topic when it exists
TOPIC_ARN="$(value "arn:aws:sns:$REGION:$ACCOUNT_ID:vieweratlas-alerts" sns create-topic --name vieweratlas-alerts --query TopicArn --output text)"
if [[ -n "$ALERT_EMAIL" ]]; then
  if ! found sns list-subscriptions-by-topic --topic-arn "$TOPIC_ARN" \
    --query "Subscriptions[?Endpoint=='$ALERT_EMAIL'].SubscriptionArn" --output text; then
    run sns subscribe --topic-arn "$TOPIC_ARN" --protocol email --notification-endpoint "$ALERT_EMAIL"
  fi
fi

# --- 6. IAM (the roles are created after EFS: their policies name the file system) ---------------
ensure_role() { # ensure_role NAME TRUST_TEMPLATE POLICY_TEMPLATE
  local role="$1" trust policy
  trust="$(render "$2" "trust-$role.json")"
  policy="$(render "$3" "policy-$role.json")"
  if found iam get-role --role-name "$role" --query Role.Arn --output text; then
    run iam update-assume-role-policy --role-name "$role" --policy-document "file://$trust"
  else
    run iam create-role --role-name "$role" --assume-role-policy-document "file://$trust" --tags Key=project,Value=vieweratlas
  fi
  run iam put-role-policy --role-name "$role" --policy-name vieweratlas --policy-document "file://$policy"
}

# --- 7. EFS (channels.txt from discover to the collectors; atlas output) --------------------------
note "EFS file system, mount targets, access point (uid 1000 = the images' node user)"
if ! found efs describe-file-systems --creation-token vieweratlas --query 'FileSystems[0].FileSystemId' --output text; then
  run efs create-file-system --creation-token vieweratlas --encrypted --performance-mode generalPurpose \
    --throughput-mode elastic --tags Key=Name,Value=vieweratlas
fi
EFS_ID="$(value fs-dryrun efs describe-file-systems --creation-token vieweratlas --query 'FileSystems[0].FileSystemId' --output text)"
if [[ $DRY_RUN == 0 ]]; then
  until [[ "$(aws efs describe-file-systems --file-system-id "$EFS_ID" --query 'FileSystems[0].LifeCycleState' --output text)" == available ]]; do sleep 5; done
fi
for subnet in "${SUBNET_LIST[@]}"; do
  if ! found efs describe-mount-targets --file-system-id "$EFS_ID" \
    --query "MountTargets[?SubnetId=='$subnet'].MountTargetId" --output text; then
    run efs create-mount-target --file-system-id "$EFS_ID" --subnet-id "$subnet" --security-groups "$SECURITY_GROUP"
  fi
done
if ! found efs describe-access-points --file-system-id "$EFS_ID" --query "AccessPoints[?Name=='vieweratlas'].AccessPointId" --output text; then
  run efs create-access-point --file-system-id "$EFS_ID" --client-token vieweratlas \
    --posix-user Uid=1000,Gid=1000 \
    --root-directory 'Path=/vieweratlas,CreationInfo={OwnerUid=1000,OwnerGid=1000,Permissions=0755}' \
    --tags Key=Name,Value=vieweratlas
fi
EFS_ACCESS_POINT_ID="$(value fsap-dryrun efs describe-access-points --file-system-id "$EFS_ID" \
  --query "AccessPoints[?Name=='vieweratlas'].AccessPointId" --output text)"

note "IAM roles (least privilege: one role per task, scoped to s3://$BUCKET/$PREFIX)"
ensure_role vieweratlas-execution "$HERE/iam/trust-ecs-tasks.json" "$HERE/iam/execution.json"
ensure_role vieweratlas-collector-task "$HERE/iam/trust-ecs-tasks.json" "$HERE/iam/collector.json"
for task in "${TASKS[@]}"; do
  ensure_role "vieweratlas-$task-task" "$HERE/iam/trust-ecs-tasks.json" "$HERE/iam/$task.json"
done
ensure_role vieweratlas-scheduler "$HERE/iam/trust-scheduler.json" "$HERE/iam/scheduler.json"
if [[ "$SSE" == aws:kms ]]; then
  kms_policy="$(render "$HERE/iam/kms.json" policy-kms.json)"
  for role in collector analysis vod discover; do
    run iam put-role-policy --role-name "vieweratlas-$role-task" --policy-name vieweratlas-kms --policy-document "file://$kms_policy"
  done
fi

# --- 8. ECS ----------------------------------------------------------------------------------------
note "ECS cluster $CLUSTER, task definitions, $SHARD_COUNT collector shard service(s)"
if ! found ecs describe-clusters --clusters "$CLUSTER" --query "clusters[?status=='ACTIVE'].clusterName" --output text; then
  run ecs create-cluster --cluster-name "$CLUSTER" --settings name=containerInsights,value=enabled \
    --capacity-providers FARGATE FARGATE_SPOT --tags key=project,value=vieweratlas
fi
for task in "${TASKS[@]}"; do
  run ecs register-task-definition --cli-input-json "file://$(render "$HERE/ecs/$task.json" "task-$task.json")"
done
network="awsvpcConfiguration={subnets=[${SUBNETS}],securityGroups=[$SECURITY_GROUP],assignPublicIp=ENABLED}"
for ((SHARD_INDEX = 0; SHARD_INDEX < SHARD_COUNT; SHARD_INDEX++)); do
  family="vieweratlas-collector-shard-$SHARD_INDEX"
  run ecs register-task-definition --cli-input-json "file://$(render "$HERE/ecs/collector.json" "task-collector-shard-$SHARD_INDEX.json")"
  if found ecs describe-services --cluster "$CLUSTER" --services "$family" \
    --query "services[?status=='ACTIVE'].serviceName" --output text; then
    run ecs update-service --cluster "$CLUSTER" --service "$family" --task-definition "$family" --desired-count 1
  else
    # stop-then-start on deploy (min 0 %, max 100 %): two tasks of one shard never collect twice
    run ecs create-service --cluster "$CLUSTER" --service-name "$family" --task-definition "$family" \
      --desired-count 1 --launch-type FARGATE --platform-version LATEST --network-configuration "$network" \
      --deployment-configuration 'maximumPercent=100,minimumHealthyPercent=0,deploymentCircuitBreaker={enable=true,rollback=true}' \
      --propagate-tags SERVICE --tags key=project,value=vieweratlas
  fi
done
SHARD_INDEX=""
# Fewer shards than before: retire the services above the new count.
existing="$(value "" ecs list-services --cluster "$CLUSTER" --query 'serviceArns' --output text)"
for arn in $existing; do
  name="${arn##*/}"
  if [[ "$name" =~ ^vieweratlas-collector-shard-([0-9]+)$ ]] && ((BASH_REMATCH[1] >= SHARD_COUNT)); then
    run ecs update-service --cluster "$CLUSTER" --service "$name" --desired-count 0
    run ecs delete-service --cluster "$CLUSTER" --service "$name"
  fi
done

# --- 9. Athena -----------------------------------------------------------------------------------
note "Athena workgroup $WORKGROUP and tables in $DATABASE (partition projection: no crawler)"
if ! found athena get-work-group --work-group "$WORKGROUP" --query WorkGroup.Name --output text; then
  run athena create-work-group --name "$WORKGROUP" --configuration \
    "ResultConfiguration={OutputLocation=s3://$BUCKET/${PREFIX}athena-results/,EncryptionConfiguration={EncryptionOption=SSE_S3}},EnforceWorkGroupConfiguration=true,PublishCloudWatchMetricsEnabled=true,BytesScannedCutoffPerQuery=$ATHENA_SCAN_CUTOFF_BYTES" \
    --tags Key=project,Value=vieweratlas
fi
schema="$(render "$HERE/athena-schema.sql" athena-schema.sql)"
# statements end with ";" at the end of a line; comment lines are dropped
statements="$(grep -v '^[[:space:]]*--' "$schema" | sed 's/;[[:space:]]*$/\x1e/')"
IFS=$'\x1e' read -r -d '' -a ddl <<< "$statements" || true
for statement in "${ddl[@]}"; do
  statement="$(echo "$statement" | sed '/^[[:space:]]*$/d')"
  [[ -n "$statement" ]] || continue
  qid="$(value q-dryrun athena start-query-execution --work-group "$WORKGROUP" --query-string "$statement" \
    --query QueryExecutionId --output text)"
  if [[ $DRY_RUN == 0 ]]; then
    while :; do
      state="$(aws athena get-query-execution --query-execution-id "$qid" --query QueryExecution.Status.State --output text)"
      case "$state" in
        SUCCEEDED) break ;;
        FAILED | CANCELLED) die "Athena DDL $qid $state: $(aws athena get-query-execution --query-execution-id "$qid" --query QueryExecution.Status.StateChangeReason --output text)" ;;
        *) sleep 2 ;;
      esac
    done
  fi
done

# --- 10. schedules -----------------------------------------------------------------------------------
note "EventBridge Scheduler: discover hourly, vod nightly, analysis daily"
for schedule in "${SCHEDULES[@]}"; do
  input="$(render "$HERE/schedules/$schedule.json" "schedule-$schedule.json")"
  if found scheduler get-schedule --name "vieweratlas-$schedule" --query Name --output text; then
    run scheduler update-schedule --cli-input-json "file://$input"
  else
    run scheduler create-schedule --cli-input-json "file://$input"
  fi
done

# --- 11. monitoring ----------------------------------------------------------------------------------
note "CloudWatch dashboard and alarms → SNS $TOPIC_ARN"
run cloudwatch put-dashboard --dashboard-name vieweratlas --dashboard-body "file://$(render "$HERE/monitoring/dashboard.json" dashboard.json)"
for alarm in "$HERE"/monitoring/alarm-*.json; do
  run cloudwatch put-metric-alarm --cli-input-json "file://$(render "$alarm" "$(basename "$alarm")")"
done

note "done: s3://$BUCKET/$PREFIX, cluster $CLUSTER ($SHARD_COUNT collector shards), workgroup $WORKGROUP"
