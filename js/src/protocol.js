// GENERATED from gtwidgets/protocol.py by js/gen_protocol.py: do not edit; change the Python
// module and run `python js/gen_protocol.py`. tests/test_protocol.py keeps the two equal.
// The widget's wire format, both ways: JSDoc typedefs for editors and the kind tables the view uses.

/**
 * What the view did in one frame, in order, and the position it shows.
 * @typedef {Object} Batch
 * @property {"batch"} type
 * @property {number} position
 * @property {Array<(CardsRequest|SubmitRequest|SkipRequest|UndoRequest|WithdrawRequest|NextUnlabeledRequest|SeriesRangeRequest|AssetRequest|Batch)>} messages
 */

/**
 * Make the cards at these queue positions; each comes back as its own ``card`` message.
 * @typedef {Object} CardsRequest
 * @property {"cards"} type
 * @property {Array<number>} positions
 */

/**
 * An answer (labeling) or a decision (review) for object ``id``; ``spent``: seconds on the card. ``answer_buffer``: the answer is binary, the batch's buffer at this index (a mask tool's PNG in the job's colours); ``answer`` is then None, or a :class:`MaskAnswer` the PNG belongs to.
 * @typedef {Object} SubmitRequest
 * @property {"submit"} type
 * @property {string} id
 * @property {(string|Array<string>|BoxAnswer|VerificationAnswer|MaskAnswer|MaskPick|null)} answer
 * @property {(number|null)} spent
 * @property {number} [answer_buffer]
 */

/**
 * @typedef {Object} SkipRequest
 * @property {"skip"} type
 * @property {string} id
 */

/**
 * Take back the last answer or skip; the kernel says which with ``undone``.
 * @typedef {Object} UndoRequest
 * @property {"undo"} type
 */

/**
 * Review: take back the decision on ``id`` (the consolidated label stands again).
 * @typedef {Object} WithdrawRequest
 * @property {"withdraw"} type
 * @property {string} id
 */

/**
 * Where the next card without an answer is: after ``after``, or from ``from`` on (that one too); ``seq`` comes back with the reply.
 * @typedef {Object} NextUnlabeledRequest
 * @property {"next_unlabeled"} type
 * @property {(string|null)} [after]
 * @property {(string|null)} [from]
 * @property {number} [seq]
 */

/**
 * A zoom on a sensor plot: panel ``panel`` of card ``id`` between ``start`` and ``end``.
 * @typedef {Object} SeriesRangeRequest
 * @property {"series_range"} type
 * @property {string} id
 * @property {number} pos
 * @property {number} panel
 * @property {(number|null)} start
 * @property {(number|null)} end
 * @property {number} seq
 */

/**
 * A script the bundle does not carry (plotly.js), by name.
 * @typedef {Object} AssetRequest
 * @property {"asset"} type
 * @property {string} name
 */

/** @typedef {(CardsRequest|SubmitRequest|SkipRequest|UndoRequest|WithdrawRequest|NextUnlabeledRequest|SeriesRangeRequest|AssetRequest|Batch)} Request */

/** @typedef {(ImageCard|TextCard|ErrorCard|PanelsCard)} Card */

/**
 * One image; its bytes are the message's only buffer.
 * @typedef {Object} ImageCard
 * @property {"card"} type
 * @property {number} pos
 * @property {string} id
 * @property {string} name
 * @property {(string|null)} source
 * @property {(Array<string>|null)} label
 * @property {(Array<string>|null)} answer
 * @property {ReviewInfo} [review]
 * @property {string} [tool]
 * @property {ToolMeta} [tool_meta]
 * @property {MachineLabelInfo} [machine]
 * @property {"image"} kind
 * @property {string} mime
 * @property {number} width
 * @property {number} height
 * @property {number} bytes
 */

/**
 * @typedef {Object} TextCard
 * @property {"card"} type
 * @property {number} pos
 * @property {string} id
 * @property {string} name
 * @property {(string|null)} source
 * @property {(Array<string>|null)} label
 * @property {(Array<string>|null)} answer
 * @property {ReviewInfo} [review]
 * @property {string} [tool]
 * @property {ToolMeta} [tool_meta]
 * @property {MachineLabelInfo} [machine]
 * @property {"text"} kind
 * @property {string} text
 * @property {boolean} truncated
 */

/**
 * An object that cannot be shown: still a card, so it can be skipped or labeled.
 * @typedef {Object} ErrorCard
 * @property {"card"} type
 * @property {number} pos
 * @property {string} id
 * @property {string} name
 * @property {(string|null)} source
 * @property {(Array<string>|null)} label
 * @property {(Array<string>|null)} answer
 * @property {ReviewInfo} [review]
 * @property {string} [tool]
 * @property {ToolMeta} [tool_meta]
 * @property {MachineLabelInfo} [machine]
 * @property {"error"} kind
 * @property {string} error
 */

/**
 * A pre-labeled ``taskInput``: several panels side by side, over every buffer of the message.
 * @typedef {Object} PanelsCard
 * @property {"card"} type
 * @property {number} pos
 * @property {string} id
 * @property {string} name
 * @property {(string|null)} source
 * @property {(Array<string>|null)} label
 * @property {(Array<string>|null)} answer
 * @property {ReviewInfo} [review]
 * @property {string} [tool]
 * @property {ToolMeta} [tool_meta]
 * @property {MachineLabelInfo} [machine]
 * @property {"panels"} kind
 * @property {Array<(ImagePanel|SeriesPanel|TextPanel|FactsPanel|ErrorPanel)>} panels
 * @property {number} bytes
 */

/**
 * What a reviewer weighs on a card (review mode only). ``value``: a tool's consolidated answer (boxes; masks: the pick of the consolidated mask), what Enter accepts as the decision; ``consolidated`` is then its category names.
 * @typedef {Object} ReviewInfo
 * @property {Array<WorkerAnswer>} answers
 * @property {Array<string>} consolidated
 * @property {(number|null)} confidence
 * @property {number} n_workers
 * @property {(Adjudication|null)} adjudication
 * @property {(BoxAnswer|MaskPick)} [value]
 */

/**
 * One worker's answer as category names; ``color``: their boxes' or mask's colour on the card; ``iou``: their mask's mean IoU with the consolidated one (background left out).
 * @typedef {Object} WorkerAnswer
 * @property {string} worker
 * @property {Array<string>} answer
 * @property {string} [color]
 * @property {number} [iou]
 */

/**
 * @typedef {Object} Adjudication
 * @property {string} reviewer
 * @property {string} time
 */

/**
 * @typedef {Object} ImagePanel
 * @property {"image"} kind
 * @property {string} title
 * @property {string} mime
 * @property {number} width
 * @property {number} height
 * @property {Array<number>} buffers
 */

/**
 * A sensor plot's overview, drawn when its card is first shown.
 * @typedef {Object} SeriesPanel
 * @property {"series"} kind
 * @property {string} title
 * @property {boolean} overlay
 * @property {Array<SeriesColumn>} columns
 * @property {number} total_points
 * @property {Array<number>} range
 * @property {Array<(number|null)>} window
 * @property {Array<number>} buffers
 * @property {number} panel
 */

/**
 * @typedef {Object} TextPanel
 * @property {"text"} kind
 * @property {string} title
 * @property {string} text
 */

/**
 * @typedef {Object} FactsPanel
 * @property {"facts"} kind
 * @property {string} title
 * @property {Array<Array<string>>} items
 */

/**
 * @typedef {Object} ErrorPanel
 * @property {"error"} kind
 * @property {string} title
 * @property {string} message
 */

/**
 * @typedef {Object} SeriesColumn
 * @property {string} name
 * @property {number} points
 */

/** @typedef {(ImagePanel|SeriesPanel|TextPanel|FactsPanel|ErrorPanel)} Panel */

/**
 * An image's original size as displayed (EXIF orientation applied).
 * @typedef {Object} ImageSize
 * @property {number} [width]
 * @property {number} [height]
 * @property {number} [depth]
 */

/**
 * One box in original-image pixels.
 * @typedef {Object} Box
 * @property {string} label
 * @property {number} left
 * @property {number} top
 * @property {number} width
 * @property {number} height
 */

/**
 * A box a read-only tool shows: in ``color``, named ``caption`` (review: each worker's boxes).
 * @typedef {Object} ShownBox
 * @property {string} label
 * @property {number} left
 * @property {number} top
 * @property {number} width
 * @property {number} height
 * @property {string} [color]
 * @property {string} [caption]
 */

/**
 * A bounding-box answer (``gtwidgets.tasktypes.boxes``); ``[]`` boxes: no objects.
 * @typedef {Object} BoxAnswer
 * @property {ImageSize} [image_size]
 * @property {Array<Box>} [boxes]
 * @property {boolean} [initial_value_modified]
 */

/**
 * @typedef {Object} VerificationAnswer
 * @property {string} [label]
 * @property {string} [comment]
 */

/**
 * A mask tool's answer on a card that started from a mask (pre-labels, a prior label); the mask itself is the submit's ``answer_buffer``.
 * @typedef {Object} MaskAnswer
 * @property {boolean} initial_value_modified
 */

/**
 * Review of masks: the decision is the mask shown, the consolidated one or ``worker``'s (``gtwidgets.review_masks``); the kernel has the pixels.
 * @typedef {Object} MaskPick
 * @property {"consolidated"|"worker"} [pick]
 * @property {string} [worker]
 */

/**
 * @typedef {Object} MaskCategory
 * @property {string} name
 * @property {string} color
 * @property {number} value
 */

/**
 * @typedef {Object} PriorMask
 * @property {string} uri
 * @property {Object} color_map
 */

/**
 * The mask a mask tool starts from (this worker's answer, else the prior): the card message's buffer at ``buffer``, a colour PNG read back with ``colors`` (``#rrggbb`` -> class value; any other colour, and transparent pixels, are background).
 * @typedef {Object} StartMask
 * @property {number} buffer
 * @property {Object<string, number>} colors
 */

/**
 * Smart fill's regions of the card's image (``gtwidgets.superpixels``): the card message's buffer at ``buffer``, zlib (RFC 1950) over ``uint16`` little-endian region labels, row-major, ``width`` x ``height`` (a working resolution: the tool maps original pixels onto it by scale).
 * @typedef {Object} Superpixels
 * @property {number} buffer
 * @property {number} width
 * @property {number} height
 */

/**
 * A mask shown read only over the card's image (verification: the prior mask; review: the consolidated one, each worker's, where they disagree): the card message's buffer at ``buffer``, a colour PNG whose ``background`` colour is not drawn; ``color``: its swatch (review: the worker's colour); ``pick``: the decision Enter makes while it is shown (review), with its ``classes``.
 * @typedef {Object} MaskLayer
 * @property {string} name
 * @property {number} buffer
 * @property {string} [background]
 * @property {string} [color]
 * @property {MaskPick} [pick]
 * @property {Array<string>} [classes]
 */

/**
 * A class of the masks a read-only mask card shows, and its colour in them.
 * @typedef {Object} LegendEntry
 * @property {string} name
 * @property {string} color
 */

/**
 * What a card's tool needs (the task type's ``card_meta``; ``gtwidgets.tool_cards``). ``problem``: why a read-only mask card shows no mask (none on the line, an unreadable file).
 * @typedef {Object} ToolMeta
 * @property {(Array<string>|Array<MaskCategory>)} [categories]
 * @property {Array<ShownBox>} [boxes]
 * @property {(ImageSize|null)} [image_size]
 * @property {boolean} [read_only]
 * @property {VerificationAnswer} [answer]
 * @property {PriorMask} [prior]
 * @property {StartMask} [mask]
 * @property {Array<ShownBox>} [reference]
 * @property {string} [color]
 * @property {boolean} [initial_value_modified]
 * @property {Superpixels} [superpixels]
 * @property {Array<MaskLayer>} [layers]
 * @property {Array<LegendEntry>} [legend]
 * @property {string} [problem]
 */

/**
 * Automated labeling labeled this object: the model's class and confidence, the round, and whether a person was asked to check it (an audit).
 * @typedef {Object} MachineLabelInfo
 * @property {string} label
 * @property {number} confidence
 * @property {number} round
 * @property {boolean} audit
 */

/**
 * What held-out human labels measured of the newest labeling round: ``correct`` of ``support`` right, ``low``-``high`` its 95% interval, out of ``validation`` held out.
 * @typedef {Object} AutoLabelAccuracy
 * @property {number} round
 * @property {number} accuracy
 * @property {number} low
 * @property {number} high
 * @property {number} support
 * @property {number} correct
 * @property {number} validation
 * @property {number} target
 */

/**
 * ``progress["auto_label"]`` (a synced trait, not a message) of a job with ``auto_label=``.
 * @typedef {Object} AutoLabelProgress
 * @property {number} human
 * @property {number} machine
 * @property {number} total
 * @property {number} rounds
 * @property {boolean} training
 * @property {(string|null)} stop
 * @property {(AutoLabelAccuracy|null)} accuracy
 * @property {(string|null)} error
 * @property {number} audited
 * @property {number} agreed
 * @property {number} audit_pending
 */

/**
 * The reply to ``series_range``: the zoomed range of panel ``panel`` of card ``id`` at full detail.
 * @typedef {Object} SeriesWindow
 * @property {"series"} kind
 * @property {string} title
 * @property {boolean} overlay
 * @property {Array<SeriesColumn>} columns
 * @property {number} total_points
 * @property {Array<number>} range
 * @property {Array<(number|null)>} window
 * @property {Array<number>} buffers
 * @property {number} panel
 * @property {"series_window"} type
 * @property {string} id
 * @property {number} pos
 * @property {number} seq
 */

/**
 * The reply to ``asset``: the script as the only buffer, or ``error``.
 * @typedef {Object} Asset
 * @property {"asset"} [type]
 * @property {string} [name]
 * @property {string} [error]
 */

/**
 * The reply to ``undo``: the card whose answer was taken back (all None: nothing to undo).
 * @typedef {Object} Undone
 * @property {"undone"} type
 * @property {(string|null)} id
 * @property {(number|null)} pos
 * @property {(Array<string>|null)} answer
 */

/**
 * The reply to ``next_unlabeled``: the next card without an answer (None: there is none).
 * @typedef {Object} Goto
 * @property {"goto"} type
 * @property {(number|null)} pos
 * @property {(string|null)} id
 * @property {(number|null)} seq
 */

/**
 * A request failed in the kernel; the view shows ``message``.
 * @typedef {Object} ErrorMessage
 * @property {"error"} type
 * @property {string} message
 * @property {(string|null)} request
 */

/** @typedef {(ImageCard|TextCard|ErrorCard|PanelsCard|SeriesWindow|Asset|Undone|Goto|ErrorMessage)} Reply */

/** @typedef {"batch"|"cards"|"submit"|"skip"|"undo"|"withdraw"|"next_unlabeled"|"series_range"|"asset"} RequestKind */

/** @typedef {"card"|"series_window"|"asset"|"undone"|"goto"|"error"} ReplyKind */

/** @typedef {"image"|"text"|"error"|"panels"} CardKind */

/** @typedef {"image"|"series"|"text"|"facts"|"error"} PanelKind */

export const REQUESTS = Object.freeze(["batch", "cards", "submit", "skip", "undo", "withdraw", "next_unlabeled", "series_range", "asset"]);
export const REPLIES = Object.freeze(["card", "series_window", "asset", "undone", "goto", "error"]);
export const CARD_KINDS = Object.freeze(["image", "text", "error", "panels"]);
export const PANEL_KINDS = Object.freeze(["image", "series", "text", "facts", "error"]);
/** request -> [its reply, the field they are matched by] */
export const PAIRS = Object.freeze({ cards: ["card", "pos"], undo: ["undone", null], next_unlabeled: ["goto", "seq"], series_range: ["series_window", "seq"], asset: ["asset", "name"] });
