"""The SageMaker Python SDK's ``HyperparameterTuner`` over the built-in XGBoost image, against sageforge (the
SDK's session comes from ``tests/sdk.py``: nothing reaches the internet)."""

from __future__ import annotations

from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.session import Session
from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter

from tests.sagemaker.support import ROLE, XGBOOST_IMAGE
from tests.sagemaker.tuning_support import wait_for_tuning_end


def test_hyperparameter_tuner_finds_and_attaches_the_best_model(sdk_session: Session, breast_cancer: str) -> None:
    estimator = Estimator(
        image_uri=XGBOOST_IMAGE,
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=f"s3://{breast_cancer}/sdk-output",
        sagemaker_session=sdk_session,
        hyperparameters={"objective": "binary:logistic", "eval_metric": "auc", "num_round": 10},
    )
    tuner = HyperparameterTuner(
        estimator,
        objective_metric_name="validation:auc",
        hyperparameter_ranges={"eta": ContinuousParameter(0.1, 0.5), "max_depth": IntegerParameter(2, 5)},
        objective_type="Maximize",
        max_jobs=3,
        max_parallel_jobs=2,
        base_tuning_job_name="sdk-tune",
    )
    channels = {
        name: TrainingInput(f"s3://{breast_cancer}/bc/{name}/", content_type="text/csv")
        for name in ("train", "validation")
    }
    tuner.fit(channels, wait=False)
    name = tuner.latest_tuning_job.name
    # Not tuner.wait(): it sleeps 5 seconds before it first looks.
    assert wait_for_tuning_end(sdk_session.sagemaker_client, name)["HyperParameterTuningJobStatus"] == "Completed"

    best = tuner.best_training_job()
    frame = tuner.analytics().dataframe()
    assert len(frame) == 3 and set(frame["TrainingJobStatus"]) == {"Completed"}
    assert frame.loc[frame["FinalObjectiveValue"].idxmax(), "TrainingJobName"] == best
    assert frame["FinalObjectiveValue"].max() > 0.9

    description = tuner.describe()
    assert description["TrainingJobDefinition"]["StaticHyperParameters"]["_tuning_objective_metric"] == "validation:auc"
    model = tuner.best_estimator()
    assert model.latest_training_job.name == best
    assert model.model_data == f"s3://{breast_cancer}/sdk-output/{best}/output/model.tar.gz"


def test_hyperparameter_tuner_attaches_to_a_tuning_job_by_name(sdk_session: Session, breast_cancer: str) -> None:
    sagemaker = sdk_session.sagemaker_client
    estimator = Estimator(
        image_uri=XGBOOST_IMAGE,
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=f"s3://{breast_cancer}/sdk-output",
        sagemaker_session=sdk_session,
        hyperparameters={"objective": "binary:logistic", "eval_metric": "auc", "num_round": 5},
    )
    tuner = HyperparameterTuner(
        estimator,
        objective_metric_name="validation:auc",
        hyperparameter_ranges={"eta": ContinuousParameter(0.1, 0.5), "max_depth": IntegerParameter(2, 5)},
        objective_type="Maximize",
        max_jobs=2,
        max_parallel_jobs=2,
        base_tuning_job_name="sdk-attach",
    )
    tuner.fit(
        {
            name: TrainingInput(f"s3://{breast_cancer}/bc/{name}/", content_type="text/csv")
            for name in ("train", "validation")
        },
        wait=False,
    )
    name = tuner.latest_tuning_job.name
    assert wait_for_tuning_end(sagemaker, name)["HyperParameterTuningJobStatus"] == "Completed"

    attached = HyperparameterTuner.attach(name, sagemaker_session=sdk_session)
    assert attached.latest_tuning_job.name == name
    assert (attached.strategy, attached.max_jobs, attached.max_parallel_jobs) == ("Bayesian", 2, 2)
    assert (attached.objective_metric_name, attached.objective_type) == ("validation:auc", "Maximize")
    assert attached.early_stopping_type == "Off"
    assert set(attached.hyperparameter_ranges()) == {
        "CategoricalParameterRanges",
        "ContinuousParameterRanges",
        "IntegerParameterRanges",
    }
    assert attached.estimator.image_uri == XGBOOST_IMAGE
    assert attached.estimator.hyperparameters() == {
        "objective": "binary:logistic",
        "eval_metric": "auc",
        "num_round": "5",
    }

    best = attached.best_training_job()
    assert best == tuner.best_training_job()
    trained = Estimator.attach(best, sagemaker_session=sdk_session)
    assert trained.latest_training_job.name == best
    assert trained.model_data == f"s3://{breast_cancer}/sdk-output/{best}/output/model.tar.gz"
