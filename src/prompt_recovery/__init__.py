"""prompt-recovery: recover the instruction an LLM was given to rewrite a text.

Layers (imports point down; nothing imports a layer above it)::

    cli -> commands
    commands -> pipeline, generate, calibrate, corpus, finetune, scoring, report, rowlog (and search,
                llm, embed directly: mean-prompt, serve, score)
    pipeline -> predictors -> search, llm, finetune   (fewshot and finetuned members use llm)
    search -> embed;   generate -> llm, rowlog;   finetune -> llm
    scoring, calibrate -> embed -> metric
    leaves, used anywhere: metric, data, config, errors, presets

Evaluation (``prompt-recovery evaluate``) is ``commands/pipeline.py`` over ``scoring`` and ``report``.
"""

__version__ = "0.1.0"
