package import DalstonBroker

/// One task of a job's graph: a stage, the engine that runs it, and the stages whose outputs it
/// reads (it runs once they have all completed).
package struct PlannedTask: Sendable, Equatable {
    /// `<job_id>_<stage>`: the same on every planning of the same job (after a restart, say).
    package let taskID: String
    package let stage: String
    package let engineID: String
    /// Stages whose outputs are this task's inputs (under their stage names).
    package let inputs: [String]
    /// The row's parameters (see `StageRule.parameters`), given to the task with its inputs.
    package let parameters: [String: JSONValue]

    package init(jobID: String, stage: String, engineID: String, inputs: [String], parameters: [String: JSONValue] = [:]) {
        self.taskID = "\(jobID)_\(stage)"
        self.stage = stage
        self.engineID = engineID
        self.inputs = inputs
        self.parameters = parameters
    }
}

/// A job's stages and their dependencies, as data: built from the job's parameters by the rows of
/// `PipelineStages.rules(for:)` that apply to it, and checked before anything is scheduled (no stage
/// twice, no cycle, every input produced by a stage of the graph, the result's stage present).
package struct JobGraph: Sendable, Equatable {
    package let jobID: String
    /// In an order where every task comes after the stages it reads.
    package let tasks: [PlannedTask]
    /// The stage whose output names the job's transcript (`result`).
    package let resultStage: String

    /// The graph of `job`, from the pipeline's table.
    package static func plan(for job: JobRecord) throws(JobGraphError) -> JobGraph {
        try JobGraph(job: job, rules: PipelineStages.rules(for: job).filter { $0.applies(job) }, resultStage: PipelineStages.result)
    }

    /// A graph of rows whose engines do not depend on the job (tests of the graph's checks).
    package init(jobID: String, rules: [StageRule], resultStage: String) throws(JobGraphError) {
        try self.init(job: JobRecord(id: jobID, requestID: ""), rules: rules, resultStage: resultStage)
    }

    /// Builds and checks a graph from rows that already apply to the job.
    package init(job: JobRecord, rules: [StageRule], resultStage: String) throws(JobGraphError) {
        let jobID = job.id
        var seen: Set<String> = []
        for rule in rules {
            guard seen.insert(rule.stage).inserted else { throw .duplicateStage(rule.stage) }
        }
        for rule in rules {
            if let missing = rule.inputs.first(where: { !seen.contains($0) }) {
                throw .inputNotProduced(stage: rule.stage, input: missing)
            }
        }
        guard seen.contains(resultStage) else { throw .noResultStage(resultStage) }
        // Kahn's algorithm, keeping the table's order among stages that are ready together.
        var ordered: [PlannedTask] = []
        var placed: Set<String> = []
        var remaining = rules
        while !remaining.isEmpty {
            guard let next = remaining.firstIndex(where: { $0.inputs.allSatisfy(placed.contains) }) else {
                throw .cycle(remaining.map(\.stage))
            }
            let rule = remaining.remove(at: next)
            ordered.append(PlannedTask(jobID: jobID, stage: rule.stage, engineID: rule.engine(for: job), inputs: rule.inputs, parameters: rule.parameters))
            placed.insert(rule.stage)
        }
        self.jobID = jobID
        self.tasks = ordered
        self.resultStage = resultStage
    }

    /// An empty graph, for deciding about a job whose own graph could not be built.
    init(unchecked jobID: String) {
        self.jobID = jobID
        self.tasks = []
        self.resultStage = ""
    }

    package func task(stage: String) -> PlannedTask? {
        tasks.first { $0.stage == stage }
    }

    /// Tasks not scheduled yet whose inputs have all completed (statuses by stage; a stage
    /// without one is waiting).
    package func ready(statuses: [String: TaskStatus]) -> [PlannedTask] {
        tasks.filter { task in
            (statuses[task.stage] ?? .waiting) == .waiting && task.inputs.allSatisfy { statuses[$0] == .completed }
        }
    }
}

/// Why a job's graph cannot run; each names what to fix in the table or the request.
package enum JobGraphError: Error, Sendable, Equatable, CustomStringConvertible {
    case duplicateStage(String)
    case inputNotProduced(stage: String, input: String)
    case cycle([String])
    case noResultStage(String)

    package var description: String {
        switch self {
        case .duplicateStage(let stage): "the job's graph has the stage \(stage) twice"
        case .inputNotProduced(let stage, let input): "the \(stage) stage reads the output of \(input), which no stage of this job produces"
        case .cycle(let stages): "the stages \(stages.joined(separator: ", ")) wait for each other"
        case .noResultStage(let stage): "no stage of this job produces the transcript (\(stage))"
        }
    }
}
