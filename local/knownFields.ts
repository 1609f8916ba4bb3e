/**
 * The field names of a `HyperparameterTuningJob` and of every message under it, as
 * aiplatform v1 defines them. Google's REST/JSON refuses a name it does not know (400
 * INVALID_ARGUMENT, "Invalid JSON payload received. Unknown name ... Cannot find field."), so
 * the local server's create does too: a misspelt field (`maxFailedTrialCnt`,
 * `medianAutomatedStopingSpec`) must not quietly give another study than the one on Vertex.
 */
import type { Issue } from "../components/spec";

/**
 * Each message's fields, from googleapis' `build/src/apis/aiplatform/v1.d.ts` (the interfaces
 * `Schema$GoogleCloudAiplatformV1<name>`; test/local/knownFields.test.ts checks the table
 * against that file). A bare name is a scalar, a list of scalars or an enum; `name:Message` a
 * message or a list of them; `name:map` a map, any keys; `name:output` an output-only field:
 * create ignores it (AIP-203), so its contents are not checked either (a job read back, with
 * the local trials' extension fields, can be sent again).
 */
const MESSAGES: Record<string, string> = {
  HyperparameterTuningJob:
    "displayName maxTrialCount parallelTrialCount maxFailedTrialCount studySpec:StudySpec trialJobSpec:CustomJobSpec labels:map encryptionSpec:EncryptionSpec " +
    "name:output state:output trials:output createTime:output startTime:output endTime:output updateTime:output error:output satisfiesPzs:output satisfiesPzi:output",
  EncryptionSpec: "kmsKeyName",
  StudySpec:
    "metrics:StudySpecMetricSpec parameters:StudySpecParameterSpec algorithm observationNoise measurementSelectionType " +
    "decayCurveStoppingSpec:StudySpecDecayCurveAutomatedStoppingSpec medianAutomatedStoppingSpec:StudySpecMedianAutomatedStoppingSpec " +
    "convexAutomatedStoppingSpec:StudySpecConvexAutomatedStoppingSpec studyStoppingConfig:StudySpecStudyStoppingConfig",
  StudySpecMetricSpec: "metricId goal safetyConfig:StudySpecMetricSpecSafetyMetricConfig",
  StudySpecMetricSpecSafetyMetricConfig: "safetyThreshold desiredMinSafeTrialsFraction",
  StudySpecParameterSpec:
    "parameterId scaleType doubleValueSpec:StudySpecParameterSpecDoubleValueSpec integerValueSpec:StudySpecParameterSpecIntegerValueSpec " +
    "discreteValueSpec:StudySpecParameterSpecDiscreteValueSpec categoricalValueSpec:StudySpecParameterSpecCategoricalValueSpec " +
    "conditionalParameterSpecs:StudySpecParameterSpecConditionalParameterSpec",
  StudySpecParameterSpecDoubleValueSpec: "minValue maxValue defaultValue",
  StudySpecParameterSpecIntegerValueSpec: "minValue maxValue defaultValue",
  StudySpecParameterSpecDiscreteValueSpec: "values defaultValue",
  StudySpecParameterSpecCategoricalValueSpec: "values defaultValue",
  StudySpecParameterSpecConditionalParameterSpec:
    "parameterSpec:StudySpecParameterSpec parentDiscreteValues:StudySpecParameterSpecConditionalParameterSpecDiscreteValueCondition " +
    "parentIntValues:StudySpecParameterSpecConditionalParameterSpecIntValueCondition parentCategoricalValues:StudySpecParameterSpecConditionalParameterSpecCategoricalValueCondition",
  StudySpecParameterSpecConditionalParameterSpecDiscreteValueCondition: "values",
  StudySpecParameterSpecConditionalParameterSpecIntValueCondition: "values",
  StudySpecParameterSpecConditionalParameterSpecCategoricalValueCondition: "values",
  StudySpecDecayCurveAutomatedStoppingSpec: "useElapsedDuration",
  StudySpecMedianAutomatedStoppingSpec: "useElapsedDuration",
  StudySpecConvexAutomatedStoppingSpec: "maxStepCount minStepCount minMeasurementCount learningRateParameterName useElapsedDuration updateAllStoppedTrials",
  StudySpecStudyStoppingConfig:
    "shouldStopAsap minimumRuntimeConstraint:StudyTimeConstraint maximumRuntimeConstraint:StudyTimeConstraint minNumTrials maxNumTrials maxNumTrialsNoProgress maxDurationNoProgress",
  StudyTimeConstraint: "maxDuration endTime",
  CustomJobSpec:
    "workerPoolSpecs:WorkerPoolSpec scheduling:Scheduling serviceAccount network reservedIpRanges baseOutputDirectory:GcsDestination " +
    "protectedArtifactLocationId tensorboard enableWebAccess enableDashboardAccess experiment experimentRun models persistentResourceId pscInterfaceConfig:PscInterfaceConfig",
  WorkerPoolSpec:
    "containerSpec:ContainerSpec pythonPackageSpec:PythonPackageSpec machineSpec:MachineSpec replicaCount nfsMounts:NfsMount lustreMounts:LustreMount diskSpec:DiskSpec",
  ContainerSpec: "imageUri command args env:EnvVar",
  PythonPackageSpec: "executorImageUri packageUris pythonModule args env:EnvVar",
  EnvVar: "name value",
  MachineSpec: "machineType acceleratorType acceleratorCount gpuPartitionSize tpuTopology reservationAffinity:ReservationAffinity",
  ReservationAffinity: "reservationAffinityType key values",
  DiskSpec: "bootDiskType bootDiskSizeGb",
  NfsMount: "server path mountPoint",
  LustreMount: "instanceIp volumeHandle filesystem mountPoint",
  Scheduling: "timeout restartJobOnWorkerRestart strategy disableRetries maxWaitDuration",
  GcsDestination: "outputUriPrefix",
  PscInterfaceConfig: "networkAttachment dnsPeeringConfigs:DnsPeeringConfig",
  DnsPeeringConfig: "domain targetProject targetNetwork",
};

/** A field's kind: `""` for a scalar, a message name, `map` or `output`. */
type Kind = string;

/** Each message's fields and their kinds, parsed from the table. */
export const MESSAGE_FIELDS: ReadonlyMap<string, ReadonlyMap<string, Kind>> = new Map(
  Object.entries(MESSAGES).map(([message, fields]) => [
    message,
    new Map(fields.split(" ").map((f) => f.split(":") as [string, Kind?]).map(([name, kind]) => [name, kind ?? ""])),
  ]),
);

/** The fields of a HyperparameterTuningJob that only the service sets: a create ignores them. */
export const OUTPUT_ONLY_FIELDS: ReadonlySet<string> = new Set(
  [...MESSAGE_FIELDS.get("HyperparameterTuningJob")!].filter(([, kind]) => kind === "output").map(([name]) => name),
);

/** `max_trial_count` → `maxTrialCount`. */
function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Every field name of a create request that the message it is in does not have, each with its
 * JSON path (`studySpec.parameters[0].doubleValueSpec.maxVal`), all at once. Only names are
 * checked: values and their types are `validateJob`'s.
 */
export function unknownFields(body: unknown, message = "HyperparameterTuningJob", path = ""): Issue[] {
  if (Array.isArray(body)) return body.flatMap((item, i) => unknownFields(item, message, `${path}[${i}]`));
  if (!isObject(body)) return [];
  const fields = MESSAGE_FIELDS.get(message)!;
  const issues: Issue[] = [];
  for (const [name, value] of Object.entries(body)) {
    const at = path ? `${path}.${name}` : name;
    const kind = fields.get(name);
    if (kind === undefined) {
      // Vertex also takes the proto name (max_trial_count); the local backend reads JSON names only.
      const jsonName = camel(name);
      issues.push(
        jsonName !== name && fields.has(jsonName)
          ? { path: at, message: `"${name}" is the proto name of "${jsonName}", which Vertex AI takes too; the local backend takes only the JSON name "${jsonName}"` }
          : { path: at, message: `unknown field "${name}" (Vertex AI refuses it: "Cannot find field."); ${message} has ${[...fields.keys()].join(", ")}` },
      );
    } else if (MESSAGE_FIELDS.has(kind)) {
      issues.push(...unknownFields(value, kind, at));
    }
  }
  return issues;
}
