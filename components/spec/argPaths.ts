/**
 * Translates a Vertex JSON path (what validation reports) back to the component argument the
 * user wrote, so an error points at `study.parameters[1].min`, not at
 * `studySpec.parameters[1].doubleValueSpec.minValue`; and the Vertex names inside a message to
 * the study's words.
 */

/** Ordered rewrites; the first that matches the start of the path wins, then the rest is rewritten piecewise. */
const PREFIXES: [RegExp, string][] = [
  [/^displayName/, "study.displayName"],
  [/^maxTrialCount/, "study.maxTrials"],
  [/^parallelTrialCount/, "study.parallelTrials"],
  [/^maxFailedTrialCount/, "study.maxFailedTrials"],
  [/^studySpec\.metrics\[\d+\]\.metricId/, "study.metric.id"],
  [/^studySpec\.metrics\[\d+\]\.goal/, "study.metric.goal"],
  [/^studySpec\.metrics/, "study.metric"],
  [/^studySpec\.algorithm/, "study.algorithm"],
  [/^studySpec\.measurementSelectionType/, "study.measurementSelection"],
  [/^studySpec\.observationNoise/, "study.observationNoise"],
  [/^studySpec\.convexAutomatedStoppingSpec/, "study.earlyStopping.convex"],
  [/^studySpec\.medianAutomatedStoppingSpec/, "study.earlyStopping.median"],
  [/^studySpec\.decayCurveStoppingSpec/, "study.earlyStopping.decayCurve"],
  [/^studySpec\.parameters/, "study.parameters"],
  [/^studySpec$/, "study.earlyStopping"],
  [/^trialJobSpec\.workerPoolSpecs\[0\]\.machineSpec/, "study.trial"],
  [/^trialJobSpec\.workerPoolSpecs\[0\]\.replicaCount/, "study.trial.replicaCount"],
  [/^trialJobSpec\.workerPoolSpecs\[0\]\.diskSpec\.bootDiskType/, "study.trial.bootDisk.type"],
  [/^trialJobSpec\.workerPoolSpecs\[0\]\.diskSpec\.bootDiskSizeGb/, "study.trial.bootDisk.sizeGb"],
  [/^trialJobSpec\.workerPoolSpecs\[0\]\.(containerSpec|pythonPackageSpec)\.args/, "study.trial.args"],
  // The user wrote a map: its entries have no index there, and the message names the variable.
  [/^trialJobSpec\.workerPoolSpecs\[0\]\.(containerSpec|pythonPackageSpec)\.env(\[\d+\].*)?$/, "study.trial.env"],
  [/^trialJobSpec\.workerPoolSpecs\[0\]\.containerSpec\.imageUri/, "trainer.imageUri"],
  [/^trialJobSpec\.workerPoolSpecs\[0\]\.containerSpec\.command/, "trainer.command"],
  [/^trialJobSpec\.workerPoolSpecs\[0\]\.pythonPackageSpec\.pythonModule/, "trainer.pythonPackage.module"],
  [/^trialJobSpec\.workerPoolSpecs\[0\]\.pythonPackageSpec/, "trainer.pythonPackage"],
  [/^trialJobSpec\.workerPoolSpecs\[0\]$/, "trainer"],
  [/^trialJobSpec\.scheduling\.timeout/, "study.trial.timeoutSeconds"],
  [/^trialJobSpec\.scheduling\.strategy/, "study.trial.scheduling"],
  [/^trialJobSpec\.scheduling\.restartJobOnWorkerRestart/, "study.trial.restartOnWorkerRestart"],
  [/^trialJobSpec\.network/, "study.trial.network"],
  [/^trialJobSpec\.enableWebAccess/, "study.trial.enableWebAccess"],
  [/^encryptionSpec\.kmsKeyName/, "kmsKeyName"],
];

/** Rewrites inside `study.parameters...`: Vertex parameter fields to the names of ParameterDefinition. */
const PARAMETER_PARTS: [RegExp, string][] = [
  [/\.conditionalParameterSpecs\[(\d+)\]\.parameterSpec/g, ".children[$1].parameter"],
  [/\.conditionalParameterSpecs\[(\d+)\]\.parent(?:Discrete|Int|Categorical)Values\.values/g, ".children[$1].parentValues"],
  [/\.conditionalParameterSpecs\[(\d+)\]/g, ".children[$1]"],
  [/\.parameterId$/, ".id"],
  [/\.(?:double|integer)ValueSpec\.minValue$/, ".min"],
  [/\.(?:double|integer)ValueSpec\.maxValue$/, ".max"],
  [/\.(?:discrete|categorical)ValueSpec\.values/, ".values"],
  [/\.(?:double|integer|discrete|categorical)ValueSpec(\.defaultValue)?$/, ".type"],
  [/\.scaleType$/, ".scale"],
];

/** The component-argument path for a Vertex JSON path; unknown paths are returned unchanged. */
export function toArgPath(vertexPath: string): string {
  for (const [pattern, replacement] of PREFIXES) {
    if (!pattern.test(vertexPath)) continue;
    let path = vertexPath.replace(pattern, replacement);
    if (path.startsWith("study.parameters")) {
      for (const [part, rewrite] of PARAMETER_PARTS) path = path.replace(part, rewrite);
    }
    return path;
  }
  return vertexPath;
}

/** Vertex names a message may use, and the study's word for each (whole words only). */
const TERMS: [RegExp, string][] = [
  [/\bUNIT_LINEAR_SCALE\b/g, "LINEAR"],
  [/\bUNIT_LOG_SCALE\b/g, "LOG"],
  [/\bUNIT_REVERSE_LOG_SCALE\b/g, "REVERSE_LOG"],
  [/\bminValue\b/g, "min"],
  [/\bmaxValue\b/g, "max"],
  [/\bmaxTrialCount\b/g, "maxTrials"],
  [/\bparallelTrialCount\b/g, "parallelTrials"],
  [/\bparameterId\b/g, "id"],
  [/\bmedianAutomatedStoppingSpec\b/g, "median"],
  [/\bdecayCurveStoppingSpec\b/g, "decayCurve"],
  [/\bconvexAutomatedStoppingSpec\b/g, "convex"],
  [/\bGRID_SEARCH\b/g, "GRID"],
  [/\bRANDOM_SEARCH\b/g, "RANDOM"],
];

/** A validation message in the study's words: `must be > 0 for LOG`, not `for UNIT_LOG_SCALE`. */
export function toArgMessage(message: string): string {
  return TERMS.reduce((text, [term, word]) => text.replace(term, word), message);
}
