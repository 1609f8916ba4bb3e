/** Shared study specs for the optimizer tests. */
import type { StudySpec } from "../../optimizer/types";

/** optimizer → (lr for adam | momentum for sgd); depth (int) → width only for depth 2 or 3; width → dropout only at 64. */
export const conditional: StudySpec = {
  parameters: [
    {
      parameterId: "optimizer",
      categoricalValueSpec: { values: ["adam", "sgd"] },
      conditionalParameterSpecs: [
        { parentCategoricalValues: { values: ["adam"] }, parameterSpec: { parameterId: "lr", discreteValueSpec: { values: [0.001, 0.01] } } },
        { parentCategoricalValues: { values: ["sgd"] }, parameterSpec: { parameterId: "momentum", categoricalValueSpec: { values: ["0.0", "0.9"] } } },
      ],
    },
    {
      parameterId: "depth",
      integerValueSpec: { minValue: "1", maxValue: "3" },
      conditionalParameterSpecs: [
        {
          parentIntValues: { values: ["2", "3"] },
          parameterSpec: {
            parameterId: "width",
            discreteValueSpec: { values: [32, 64] },
            conditionalParameterSpecs: [
              { parentDiscreteValues: { values: [64] }, parameterSpec: { parameterId: "dropout", doubleValueSpec: { minValue: 0, maxValue: 0.5 } } },
            ],
          },
        },
      ],
    },
  ],
};
